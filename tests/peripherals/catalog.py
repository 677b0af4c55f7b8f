"""Every OLED screen the terminal shows, by golden-file name."""
from terminal.core import screens as s
from terminal.core.carriers import BuyerTaxId, Carrier, Donation

SCREENS = {
    "ready": s.ready_screen("113年09-10月", 1234, 12),
    "ready_no_history": s.ready_screen("113年09-10月", 250, None),
    "ready_warnings": s.ready_screen("113年11-12月", 48, 2, ["下期字軌未匯入", "時間未同步", "上傳積壓 3 筆"]),
    "pending_mobile": s.pending_screen(Carrier("3J0002", "/ABC+123"), 90),
    "pending_citizen": s.pending_screen(Carrier("CQ0001", "AB12345678901234"), 42),
    "pending_donation": s.pending_screen(Donation("168001"), 5),
    "pending_tax_id": s.pending_screen(BuyerTaxId("04595257"), 60),
    "issued_printed": s.issued_screen("AB12345678", "printed"),
    "issued_carrier": s.issued_screen("AB-12345679", "carrier"),
    "issued_donation": s.issued_screen("AB12345680", "donation"),
    "issued_queued": s.issued_screen("AB12345681", "queued"),
    "error_no_numbers": s.error_screen("no_numbers", s.ERROR_MESSAGES_ZH["no_numbers"], "請匯入字軌"),
    "error_next_period": s.error_screen("next_period_missing", s.ERROR_MESSAGES_ZH["next_period_missing"],
                                        "11312"),
    "error_paper_out": s.error_screen("paper_out", s.ERROR_MESSAGES_ZH["paper_out"]),
    "error_clock": s.error_screen("clock_not_synced", s.ERROR_MESSAGES_ZH["clock_not_synced"]),
    "error_upload_backlog": s.error_screen("upload_backlog", s.ERROR_MESSAGES_ZH["upload_backlog"],
                                           "12 筆，最久 40 小時"),
    "error_config": s.config_error_screen("printer.baudrate", "數值無效"),
    "upload_ok": s.upload_screen(0, 0, None),
    "upload_pending": s.upload_screen(3, 0, 2.5),
    "upload_late": s.upload_screen(12, 0, 30.25),
    "upload_rejected": s.upload_screen(1, 2, 0.4),
    "scan_rejected_lowercase": s.scan_rejected_screen("手機條碼格式錯誤", "/abc+123"),
    "scan_rejected_unknown": s.scan_rejected_screen("無法辨識的條碼", "4710088430019\x07"),
}
