"""make_client from the configuration exactly as bootstrap merges it ([upload] + ecpay_* secrets)."""
import pytest

from drivers.vac import EcpayOfflineClient, make_client
from terminal.core.errors import ConfigError
from vac_samples import HASH_IV, HASH_KEY, MERCHANT_ID

UPLOAD = {"backend": "ecpay", "interval_seconds": 300, "base_url": "https://einvoice-stage.ecpay.com.tw",
          "machine_id": "POS01", "turnkey_root": "", "ca_bundle": "", "timeout_seconds": 10.0}
SECRETS = {"ecpay_merchant_id": MERCHANT_ID, "ecpay_hash_key": HASH_KEY, "ecpay_hash_iv": HASH_IV}


def test_the_bootstrap_shape_builds_an_ecpay_client(clock):
    client = make_client({**UPLOAD, **SECRETS}, clock=clock)
    assert isinstance(client, EcpayOfflineClient)
    assert repr(client) == "EcpayOfflineClient(base_url='https://einvoice-stage.ecpay.com.tw', machine_id='POS01')"


@pytest.mark.parametrize("change, field", [
    ({"ecpay_hash_key": ""}, "secrets.ecpay_hash_key"),
    ({"ecpay_hash_iv": "short"}, "secrets.ecpay_hash_iv"),
    ({"ecpay_merchant_id": "abc"}, "secrets.ecpay_merchant_id"),
    ({"machine_id": "POS-01"}, "upload.machine_id"),
    ({"base_url": "http://einvoice.ecpay.com.tw"}, "upload.base_url"),
    ({"timeout_seconds": 0}, None),  # 0 counts as not set: the default applies
    ({"backend": "none"}, "upload.backend"),
    ({"backend": "mirle"}, "upload.backend"),
    ({"turnkey_dir": "/x"}, "upload.turnkey_dir"),
    ({"backend": "turnkey"}, "upload.turnkey_root"),
])
def test_bad_configuration_names_the_key_and_never_the_secret(clock, change, field):
    cfg = {**UPLOAD, **SECRETS, **change}
    if field is None:
        assert make_client(cfg, clock=clock)
        return
    with pytest.raises(ConfigError) as err:
        make_client(cfg, clock=clock)
    assert err.value.field == field
    for secret in (HASH_KEY, HASH_IV, "short"):
        assert secret not in str(err.value)
