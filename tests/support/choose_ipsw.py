#!/usr/bin/env python3
"""For every Mac model the Asahi installer knows, whether its firmware
choice (choose_ipsw, src/main.py) crashes for an entry of an
installer_data.json: prints "MODEL crash" or "MODEL ok", one per line, for
the entry whose supported_fw leaves the fewest choices.

With NIT_ASAHI_INSTALLER_SRC set to an asahi-installer checkout, its own
main.py is imported and InstallerMain.choose_ipsw is called (expert mode,
firmware new enough for every choice); otherwise the same filter runs on
the installer's tables as restated below (DEVICES minimum versions,
IPSW_VERSIONS restrictions, as of the release that added M3).

usage: choose_ipsw.py INSTALLER_DATA.json
"""
import contextlib
import io
import json
import os
import sys

# Device class -> minimum macOS version (DEVICES).
DEVICES = {
    "j274ap": "11.0", "j293ap": "11.0", "j313ap": "11.0", "j456ap": "11.3",
    "j457ap": "11.3", "j314cap": "12.0", "j314sap": "12.0", "j316cap": "12.0",
    "j316sap": "12.0", "j375cap": "12.3", "j375dap": "12.3", "j413ap": "12.4",
    "j493ap": "12.4", "j414cap": "13.2", "j414sap": "13.2", "j416cap": "13.2",
    "j416sap": "13.2", "j473ap": "13.2", "j474sap": "13.2", "j415ap": "13.4",
    "j475cap": "13.4", "j475dap": "13.4", "j180dap": "13.4",
    "j433ap": "14.8.3", "j434ap": "14.8.3", "j504ap": "14.8.3", "j613ap": "14.8.3",
    "j615ap": "14.8.3", "j514sap": "14.8.3", "j514cap": "14.8.3", "j514map": "14.8.3",
    "j516sap": "14.8.3", "j516cap": "14.8.3", "j516map": "14.8.3",
}
M3 = [m for m, v in DEVICES.items() if v == "14.8.3"]
# Firmware versions offered (IPSW_VERSIONS): version -> devices (None: all).
IPSW = {"12.3.1": None, "12.3": None, "13.5": None, "14.8.3": M3}


def split_ver(s):
    return [int(p) for p in s.replace("-", ".").replace(",", ".").split(".") if p.isdigit()]


def restated(model, supported_fw):
    minver = [v for v, devices in IPSW.items()
              if split_ver(v) >= split_ver(DEVICES[model])
              and (supported_fw is None or v in supported_fw)
              and (devices is None or model in devices)]
    if not minver:
        raise IndexError("list index out of range")  # minver[0] in choose_ipsw


def real(src):
    sys.path.insert(0, os.path.join(src, "src"))
    import main

    class Sysinfo:
        sys_firmware = "iBoot-99999.0.0"
        macos_ver = "99.0"
        sfr_full_ver = "99.0.0.0.0,0"
        chip_id = 0

    def choose(model, supported_fw):
        me = type("Stub", (), {})()
        me.sysinfo = Sysinfo()
        me.sysinfo.device_class = model
        me.device = main.DEVICES[model]
        me.expert = True
        me.choice = lambda prompt, options, default=None: default
        with contextlib.redirect_stdout(io.StringIO()):  # its prompts and messages
            main.InstallerMain.choose_ipsw(me, supported_fw)

    return list(main.DEVICES), choose


def main():
    entries = json.load(open(sys.argv[1]))["os_list"]
    src = os.environ.get("NIT_ASAHI_INSTALLER_SRC")
    models, choose = (real(src) if src else (list(DEVICES), restated))
    print(f"# {'the installer' + chr(39) + 's own choose_ipsw from ' + src if src else 'restated tables'}",
          file=sys.stderr)
    for model in models:
        verdict = "ok"
        for e in entries:
            try:
                choose(model, e.get("supported_fw"))
            except IndexError:
                verdict = "crash"
        print(model, verdict)


if __name__ == "__main__":
    main()
