import json
d = json.load(open("../recorded/run-device.json"))
d["throttle_bps"] = 8388608
d["other_qemu_processes_at_start"] = 1
rows = {r["id"]: r for r in d["rows"]}
sw = rows["sw-aegis"]
for k in ("seq_write", "seq_read", "rand_write"): sw.pop(k, None)
sw.update(status="error", error="format failed: swcrypt format: swcrypt: /dev/nvme0n1: Input/output error (exit 1)", dm_table=None)
cs = rows["cs-aegis"]
for k in ("seq_write", "seq_read", "rand_write"): cs.pop(k, None)
cs.update(label="cryptsetup open of the same aegis128 volume", status="error", error="no reference cryptsetup (SWCRYPT_CRYPTSETUP)", dm_table=None)
g = rows["sw-gcm"]
g["seq_write"]["error"] = "swcrypt close: swcrypt: bench-vol: Device or resource busy (exit 5)"
g["rand_write"] = {"mib_s": None, "iops": None, "bytes": None, "ns_sectors_written": 0, "write_amplification": None,
                   "error": "fio rand_write on /dev/mapper/bench-vol: fio: pid=1, err=5/file:io_u.c:1889, func=io_u error, error=Input/output error (exit 1)"}
g["status"] = "error"
rows["raw-ns2"]["seq_read"]["mib_s"] = 0.0
rows["sw-journal"]["rand_write"]["iops"] = 1064.4999
b = rows["sw-bitmap"]
d["rows"][d["rows"].index(b)] = {"id": "sw-bitmap", "label": b["label"], "layout": b["layout"], "namespace": b["namespace"], "status": "error",
    "error": "swcrypt format --integrity-mode bitmap succeeded, but the kernel has no bitmap mode under dm-crypt: check what it built"}
inits = {i["id"]: i for i in d["init"]}
inits["sw-aegis"].update(unreadable_mib_after=3, error="swcrypt format printed no 'initialised X MiB in S s' line", reported_mib=None, reported_seconds=None, reported_mib_s=None)
c = inits["cs-luksformat"]
for k in list(c):
    if k not in ("id", "tool", "namespace"): c[k] = None
c["layout"] = "inline aegis128-random"; c["error"] = "no reference cryptsetup (SWCRYPT_CRYPTSETUP)"
# keep key order as init_entry writes it
order = ["id","tool","layout","namespace","seconds","mib","reported_mib","reported_seconds","ns_sectors_written","unreadable_mib_after","error","mib_s","reported_mib_s","write_amplification"]
d["init"][d["init"].index(c)] = {k: c[k] for k in order}
inits["sw-nojournal"]["unreadable_mib_after"] = 0
json.dump(d, open("run-device-errors.json", "w"))
json.dump({"mode": "cpu", "error": "the VM run failed (Scripts/vm exit 125)", "rows": [], "init": [], "wall_seconds": 41, "other_qemu_processes_at_start": 0}, open("run-cpu-failed.json", "w"))
