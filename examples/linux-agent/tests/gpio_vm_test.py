#!/usr/bin/env python3
# Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
"""tether-agent's GPIO lines on a real kernel GPIO driver.

Boots Debian's arm64 kernel on QEMU's `virt` board, whose PL061 GPIO controller the kernel drives
(/dev/gpiochip0, label "9030000.pl061", 8 lines; line 3 is wired to the board's power button),
with an initramfs holding busybox, the cross-built (arm64) tether-agent and the libraries it needs
from the sysroot. In the VM, with no network (the agent keeps its telemetry in the offline queue):

  - --check-config: a valid gpio section is described; a line past the chip's last one, a line name
    the chip does not have and a chip label nobody has are refused with texts naming them;
  - tether-agent takes an output at `initial` true (line 0), an active-low output at `initial`
    true (line 1: the pin must be low) and an input (line 3); the kernel's own view
    (/sys/kernel/debug/gpio) must show the consumer, the directions and those levels;
  - the host presses the power button (QEMU monitor: system_powerdown, a 100 ms pulse on line 3):
    the agent must print GPIO door=1 then door=0 and send a telemetry record at once carrying
    "door":true.

Usage: gpio_vm_test.py --agent BIN --sysroot DIR --vm-dir DIR [--qemu qemu-system-aarch64]
(--vm-dir: what scripts/make-gpio-vm.sh fetched: vmlinuz, busybox). Exit 0 = passed; anything
missing is a failure with its reason, never a skip.
"""

import argparse
import gzip
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

GUEST_LIBDIRS = ["lib/aarch64-linux-gnu", "usr/lib/aarch64-linux-gnu", "lib", "usr/lib"]

AGENT_CONFIG = """{
  "thing_name": "gpio-vm",
  "endpoint": "localhost",
  "port": 8883,
  "tls": {"ca_file": "/etc/tether/ca.pem", "cert_file": "/etc/tether/device.crt", "key": "/etc/tether/device.key"},
  "reconnect": {"initial_ms": 1000, "max_ms": 2000},
  "offline_queue": {"directory": "/var/lib/tether/queue",
                    "streams": [{"name": "telemetry", "durability": "batch"}]},
  "gpio": {"chip": "%(chip)s", "poll_ms": 10,
           "inputs": [{"name": "door", "line": %(door)s}],
           "outputs": [{"name": "led", "line": 0, "initial": true},
                       {"name": "buzzer_n", "line": 1, "active_low": true, "initial": true}]}
}
"""

GUEST_INIT = r"""#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t debugfs debugfs /sys/kernel/debug
mkdir -p /tmp /var/lib/tether/queue /run
echo "@@ BOOTED"
for c in good bad-line bad-name bad-chip; do
  echo "@@ CHECK $c"
  /usr/bin/tether-agent --check-config /etc/tether/$c.json 2>&1
  echo "@@ CHECK-EXIT $c $?"
done
/usr/bin/tether-agent /etc/tether/good.json --state-dir /var/lib/tether --duration 12 >/tmp/agent.out 2>/tmp/agent.err &
pid=$!
n=0
while ! grep -q '^READY' /tmp/agent.out 2>/dev/null && [ $n -lt 100 ]; do sleep 0.1; n=$((n+1)); done
sleep 1
echo "@@ DEBUGFS"
cat /sys/kernel/debug/gpio
echo "@@ PRESS"
sleep 4
echo "@@ PRESS"
wait $pid
echo "@@ AGENT-EXIT $?"
echo "@@ AGENT-STDOUT"
cat /tmp/agent.out
echo "@@ AGENT-STDERR"
cat /tmp/agent.err
echo "@@ END"
poweroff -f
"""


def fail(message):
    print(f"gpio_vm_test: FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def needed_libraries(path):
    """DT_NEEDED entries and the interpreter of an ELF file (readelf, any architecture)."""
    out = subprocess.run(["readelf", "-d", "-l", "-W", path], capture_output=True, text=True, check=True).stdout
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)
    interp = re.search(r"Requesting program interpreter: ([^\]]+)\]", out)
    return needed, interp.group(1) if interp else None


def find_in_sysroot(sysroot, name):
    for d in GUEST_LIBDIRS:
        candidate = os.path.join(sysroot, d, name)
        if os.path.exists(candidate):
            return candidate, d
    return None, None


def build_initramfs(args, work):
    root = os.path.join(work, "root")
    for d in ["bin", "dev", "proc", "sys", "etc/tether", "usr/bin", "tmp", "var/lib/tether", "lib"]:
        os.makedirs(os.path.join(root, d), exist_ok=True)
    shutil.copy2(os.path.join(args.vm_dir, "busybox"), os.path.join(root, "bin/busybox"))
    shutil.copy2(args.agent, os.path.join(root, "usr/bin/tether-agent"))

    # The agent's libraries, transitively, from the sysroot (symlinks resolved: real files).
    todo, seen = [args.agent], set()
    while todo:
        needed, interp = needed_libraries(todo.pop())
        if interp and interp not in seen:
            seen.add(interp)
            source = os.path.realpath(os.path.join(args.sysroot, interp.lstrip("/")))
            if not os.path.exists(source):
                fail(f"the interpreter {interp} is not in the sysroot {args.sysroot}")
            target = os.path.join(root, interp.lstrip("/"))
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copy2(source, target)
        for name in needed:
            if name in seen:
                continue
            seen.add(name)
            source, subdir = find_in_sysroot(args.sysroot, name)
            if source is None:
                fail(f"{name} (needed by the agent) is not in the sysroot {args.sysroot}: run scripts/make-sysroot.sh arm64")
            target = os.path.join(root, "usr/lib/aarch64-linux-gnu", name)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copy2(os.path.realpath(source), target)
            todo.append(os.path.realpath(source))
    os.symlink("../usr/lib/aarch64-linux-gnu", os.path.join(root, "lib/aarch64-linux-gnu"))

    # Credentials: the files must exist and parse; the agent never reaches a broker here.
    etc = os.path.join(root, "etc/tether")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", os.path.join(etc, "device.key"), "-out", os.path.join(etc, "device.crt"),
                    "-subj", "/CN=gpio-vm", "-days", "2"], check=True, capture_output=True)
    shutil.copy2(os.path.join(etc, "device.crt"), os.path.join(etc, "ca.pem"))
    configs = {
        "good": {"chip": "9030000.pl061", "door": "3"},
        "bad-line": {"chip": "gpiochip0", "door": "8"},
        "bad-name": {"chip": "/dev/gpiochip0", "door": '"GPIO17"'},
        "bad-chip": {"chip": "pinctrl-rp1", "door": "3"},
    }
    for name, values in configs.items():
        with open(os.path.join(etc, f"{name}.json"), "w") as f:
            f.write(AGENT_CONFIG % values)
    init = os.path.join(root, "init")
    with open(init, "w") as f:
        f.write(GUEST_INIT)
    os.chmod(init, 0o755)

    image = os.path.join(work, "initramfs.cpio.gz")
    listing = subprocess.run(["find", "."], cwd=root, capture_output=True, check=True).stdout
    cpio = subprocess.run(["cpio", "-o", "-H", "newc", "--quiet"], cwd=root, input=listing, capture_output=True,
                          check=True).stdout
    with gzip.open(image, "wb", compresslevel=1) as f:
        f.write(cpio)
    return image


def press_power_button(monitor_path):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(monitor_path)
        time.sleep(0.2)
        s.sendall(b"system_powerdown\n")
        time.sleep(0.2)


def run_vm(args, work, image):
    monitor = os.path.join(work, "monitor.sock")
    command = [args.qemu, "-M", "virt", "-cpu", "cortex-a57", "-m", "512", "-smp", "1", "-nic", "none",
               "-display", "none", "-no-reboot", "-serial", "stdio",
               "-monitor", f"unix:{monitor},server,nowait",
               "-kernel", os.path.join(args.vm_dir, "vmlinuz"), "-initrd", image,
               "-append", "console=ttyAMA0 quiet panic=-1"]
    print("gpio_vm_test: " + " ".join(command), flush=True)
    vm = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    lines = []
    presses = 0

    def kill_later():
        time.sleep(args.timeout)
        if vm.poll() is None:
            vm.kill()

    threading.Thread(target=kill_later, daemon=True).start()
    for raw in vm.stdout:
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        lines.append(line)
        print("vm| " + line, flush=True)
        if line.strip() == "@@ PRESS" and presses == 0:
            presses += 1
            press_power_button(monitor)
    vm.wait()
    return lines


def section(lines, start, end):
    """The lines after the one equal to `start` up to the next one starting with `end`."""
    out, inside = [], False
    for line in lines:
        if inside and line.startswith(end):
            break
        if inside:
            out.append(line)
        if line.strip() == start:
            inside = True
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--agent", required=True)
    parser.add_argument("--sysroot", required=True)
    parser.add_argument("--vm-dir", required=True)
    parser.add_argument("--qemu", default="qemu-system-aarch64")
    parser.add_argument("--timeout", type=int, default=240)
    args = parser.parse_args()
    for path, what in [(args.agent, "the arm64 tether-agent"), (os.path.join(args.vm_dir, "vmlinuz"),
                       "the arm64 kernel (scripts/make-gpio-vm.sh)"), (os.path.join(args.vm_dir, "busybox"),
                       "busybox (scripts/make-gpio-vm.sh)")]:
        if not os.path.isfile(path):
            fail(f"{what} is missing: {path}")
    for tool in [args.qemu, "readelf", "cpio", "openssl"]:
        if shutil.which(tool) is None:
            fail(f"{tool} not found (scripts/install-deps.sh cross)")

    with tempfile.TemporaryDirectory(prefix="tether-gpio-vm-") as work:
        lines = run_vm(args, work, build_initramfs(args, work))

    errors = []

    def expect(condition, message):
        if not condition:
            errors.append(message)

    text = "\n".join(lines)
    expect("@@ BOOTED" in text, "the VM did not boot to the test script")
    good = "\n".join(section(lines, "@@ CHECK good", "@@ CHECK-EXIT"))
    expect("@@ CHECK-EXIT good 0" in text, "--check-config of a valid gpio section did not exit 0")
    expect("gpio: gpiochip0 [9030000.pl061], 8 lines; inputs door (read every 10 ms), outputs led,buzzer_n" in good,
           "--check-config did not describe the chip and the lines")
    checks = {
        "bad-line": 'gpio.inputs[0] "door" (line 8): gpiochip0 [9030000.pl061], 8 lines has lines 0 to 7 only',
        "bad-name": 'gpio.inputs[0] "door" (line "GPIO17"): gpiochip0 [9030000.pl061], 8 lines has no line of that '
                    'name (gpioinfo gpiochip0 lists them)',
        "bad-chip": 'gpio.chip: no GPIO chip is labelled "pinctrl-rp1" (chips: gpiochip0 [9030000.pl061])',
    }
    for name, wanted in checks.items():
        out = "\n".join(section(lines, f"@@ CHECK {name}", "@@ CHECK-EXIT"))
        expect(f"@@ CHECK-EXIT {name} 1" in text, f"--check-config of {name} did not exit 1")
        expect(wanted in out, f"--check-config of {name} did not say: {wanted}")

    # The kernel's view while the agent holds the lines: consumer, direction, level.
    debugfs = section(lines, "@@ DEBUGFS", "@@ PRESS")
    base = None
    held = {}
    for line in debugfs:
        header = re.search(r"GPIOs (\d+)-\d+.*9030000\.pl061", line)
        if header:
            base = int(header.group(1))
        m = re.match(r"\s*gpio-(\d+)\s+\(([^|]*)\|([^)]*)\)\s+(in|out)\s+(hi|lo)", line)
        if m and base is not None:
            held[int(m.group(1)) - base] = (m.group(3).strip(), m.group(4), m.group(5))
    if base is None:
        errors.append("/sys/kernel/debug/gpio does not list the PL061: " + " | ".join(debugfs))
    else:
        expect(held.get(0) == ("tether-agent", "out", "hi"), f"line 0 (led, initial true): {held.get(0)}")
        expect(held.get(1) == ("tether-agent", "out", "lo"), f"line 1 (buzzer_n, active low, initial true): {held.get(1)}")
        expect(held.get(3) is not None and held.get(3)[:2] == ("tether-agent", "in"), f"line 3 (door): {held.get(3)}")

    agent_out = section(lines, "@@ AGENT-STDOUT", "@@ AGENT-STDERR")
    agent_err = section(lines, "@@ AGENT-STDERR", "@@ END")
    expect("@@ AGENT-EXIT 0" in text, "tether-agent did not exit 0: " + " | ".join(agent_err[-5:]))
    expect(any(l.startswith("READY features=telemetry,gpio") for l in agent_out), "no READY features=telemetry,gpio")
    gpio_lines = [l for l in agent_out if l.startswith("GPIO ")]
    for wanted in ["GPIO led=1", "GPIO buzzer_n=1", "GPIO door=0"]:
        expect(wanted in gpio_lines[:3], f"the first readings lack {wanted}: {gpio_lines[:3]}")
    door = [l for l in gpio_lines if l.startswith("GPIO door=")]
    expect(door[:3] == ["GPIO door=0", "GPIO door=1", "GPIO door=0"],
           f"the power button's pulse on line 3 was not seen as door 0 -> 1 -> 0: {door}")
    telemetry = [l for l in agent_out if l.startswith("TELEMETRY ")]
    expect(any('"gpio":{"door":false,"led":true,"buzzer_n":true}' in l for l in telemetry[:1]),
           f"the first telemetry record lacks the lines: {telemetry[:1]}")
    pressed = [l for l in telemetry if '"door":true' in l]
    expect(len(pressed) >= 1, "no telemetry record was sent with door true when the button was pressed")
    if errors:
        for e in errors:
            print("gpio_vm_test: FAIL: " + e, file=sys.stderr)
        sys.exit(1)
    print("gpio_vm_test: passed (check-config x4, kernel line states, input pulse, telemetry)")


if __name__ == "__main__":
    main()
