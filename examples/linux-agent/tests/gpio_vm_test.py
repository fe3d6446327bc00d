#!/usr/bin/env python3
# Copyright 2026 The Tether Authors. SPDX-License-Identifier: Apache-2.0
"""tether-agent's GPIO lines on a real kernel GPIO driver, driven through the shadow.

Boots Debian's arm64 or armhf kernel on QEMU's `virt` board, whose PL061 GPIO controller the kernel drives
(/dev/gpiochip0, label "9030000.pl061", 8 lines; line 3 is wired to the board's power button),
with an initramfs holding busybox, the cross-built (arm64 or armhf) tether-agent and the libraries it needs
from the sysroot. The VM's network (QEMU user networking, virtio-mmio) reaches the host's TLS
broker and cloudsim (scripts/devenv.sh, in a private directory) as "localhost". Checked:

  - --check-config: a valid gpio section is described; a line past the chip's last one, a line name
    the chip does not have and a chip label nobody has are refused with texts naming them;
  - tether-agent takes an output at `initial` true (line 0), an active-low output at `initial`
    true (line 1: the pin must be low) and an input (line 3); the kernel's own view
    (/sys/kernel/debug/gpio) must show the consumer, the directions and those levels;
  - the host presses the power button (QEMU monitor: system_powerdown, a 100 ms pulse on line 3):
    the agent must print GPIO door=1 then door=0 and send a telemetry record at once carrying
    "door":true;
  - once the shadow is synced the host sets desired.gpio.led = false in cloudsim: the agent
    applies it, the kernel shows line 0 low, and the service's reported.gpio holds every line;
  - a second run of the agent (same state directory, offline) sets led from the replica, not from
    `initial`.

Usage: gpio_vm_test.py --arch arm64|armhf --agent BIN --sysroot DIR --vm-dir DIR [--qemu PROGRAM]
(--vm-dir: what scripts/make-gpio-vm.sh fetched: vmlinuz, busybox, modules/). Exit 0 = passed;
anything missing is a failure with its reason, never a skip.
"""

import argparse
import gzip
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
THING = "gpio-vm"

# Per Debian architecture: the multiarch triplet, QEMU and its machine and CPU for the virt board.
ARCHES = {
    "arm64": {"triplet": "aarch64-linux-gnu", "qemu": "qemu-system-aarch64", "machine": ["-M", "virt", "-cpu", "cortex-a57"]},
    "armhf": {"triplet": "arm-linux-gnueabihf", "qemu": "qemu-system-arm",
              "machine": ["-M", "virt,highmem=off", "-cpu", "cortex-a15"]},
}

AGENT_CONFIG = """{
  "thing_name": "gpio-vm",
  "endpoint": "localhost",
  "port": %(port)s,
  "tls": {"ca_file": "/etc/tether/ca.crt", "cert_file": "/etc/tether/device.crt", "key": "/etc/tether/device.key"},
  "mqtt": {"version": 5, "keep_alive_s": 30},
  "reconnect": {"initial_ms": 500, "max_ms": 2000},
  "offline_queue": {"directory": "/var/lib/tether/queue",
                    "streams": [{"name": "telemetry", "durability": "batch"}]},
  "shadow": {},
  "gpio": {"chip": "%(chip)s", "poll_ms": 10,
           "inputs": [{"name": "door", "line": %(door)s}],
           "outputs": [{"name": "led", "line": 0, "initial": true},
                       {"name": "buzzer_n", "line": 1, "active_low": true, "initial": true}]}
}
"""

# The guest's script. "@@" lines mark the steps; the agent's stdout is streamed as "A| <line>" so
# that the host can act on it (press the button, change the shadow).
GUEST_INIT = r"""#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t debugfs debugfs /sys/kernel/debug
mkdir -p /tmp /var/lib/tether/queue /run
echo "@@ BOOTED"
for m in virtio_mmio failover net_failover virtio_net; do insmod /modules/$m.ko || echo "@@ INSMOD-FAILED $m"; done
n=0
while [ ! -e /sys/class/net/eth0 ] && [ $n -lt 50 ]; do sleep 0.1; n=$((n+1)); done
ip link set lo up
ip link set eth0 up
ip addr add 10.0.2.15/24 dev eth0
ip route add default via 10.0.2.2
echo "@@ NETWORK"
# armmp has the gpio-keys driver built in: it holds line 3 (the power button) for the kernel.
for d in /sys/bus/platform/drivers/gpio-keys/*; do
  case "$(basename "$d")" in bind|unbind|uevent|module) ;; *) [ -e "$d" ] && echo "$(basename "$d")" > /sys/bus/platform/drivers/gpio-keys/unbind && echo "@@ UNBOUND $(basename "$d")" ;; esac
done
for c in good bad-line bad-name bad-chip; do
  echo "@@ CHECK $c"
  /usr/bin/tether-agent --check-config /etc/tether/$c.json 2>&1
  echo "@@ CHECK-EXIT $c $?"
done
wait_for() {  # wait_for PATTERN FILE SECONDS
  n=0
  while ! grep -q "$1" "$2" 2>/dev/null && [ $n -lt $(($3 * 10)) ]; do sleep 0.1; n=$((n+1)); done
}
( /usr/bin/tether-agent /etc/tether/good.json --state-dir /var/lib/tether --duration 40 2>/tmp/agent.err
  echo "@@ AGENT-EXIT $?" ) | tee /tmp/agent.out | sed 's/^/A| /' &
wait_for '^READY' /tmp/agent.out 20
sleep 1
echo "@@ DEBUGFS 1"
cat /sys/kernel/debug/gpio
echo "@@ PRESS"
wait_for '^REPORTED.*"led":false' /tmp/agent.out 40
sleep 1
echo "@@ DEBUGFS 2"
cat /sys/kernel/debug/gpio
echo "@@ STOP"
kill -TERM $(pidof tether-agent) 2>/dev/null
wait_for '^@@ AGENT-EXIT' /tmp/agent.out 20
echo "@@ AGENT-STDERR"
cat /tmp/agent.err
ip link set eth0 down
echo "@@ RESTART"
( /usr/bin/tether-agent /etc/tether/good.json --state-dir /var/lib/tether --duration 4 2>/tmp/agent2.err
  echo "@@ AGENT-EXIT $?" ) | tee /tmp/agent2.out | sed 's/^/B| /' &
wait_for '^READY' /tmp/agent2.out 20
echo "@@ DEBUGFS 3"
cat /sys/kernel/debug/gpio
wait_for '^@@ AGENT-EXIT' /tmp/agent2.out 20
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


def find_in_sysroot(sysroot, triplet, name):
    for d in [f"lib/{triplet}", f"usr/lib/{triplet}", "lib", "usr/lib"]:
        candidate = os.path.join(sysroot, d, name)
        if os.path.exists(candidate):
            return candidate
    return None


def build_initramfs(args, work, env):
    root = os.path.join(work, "root")
    triplet = ARCHES[args.arch]["triplet"]
    for d in ["bin", "dev", "proc", "sys", "etc/tether", "usr/bin", "tmp", "var/lib/tether", "lib"]:
        os.makedirs(os.path.join(root, d), exist_ok=True)
    shutil.copy2(os.path.join(args.vm_dir, "busybox"), os.path.join(root, "bin/busybox"))
    shutil.copy2(args.agent, os.path.join(root, "usr/bin/tether-agent"))

    # The agent's libraries, transitively, from the sysroot (symlinks resolved: real files), and the
    # ones it loads on first use (--load: libgpiod 1.x), as a Raspberry Pi with the package has them.
    todo, seen = [args.agent], set()

    def copy_library(name, why):
        """Copies library `name` (a soname) from the sysroot and queues it for its own NEEDED."""
        seen.add(name)
        source = find_in_sysroot(args.sysroot, triplet, name)
        if source is None:
            fail(f"{name} ({why} the agent) is not in the sysroot {args.sysroot}: run scripts/make-sysroot.sh "
                 f"{args.arch}")
        target = os.path.join(root, "usr/lib", triplet, name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copy2(os.path.realpath(source), target)
        todo.append(os.path.realpath(source))

    for name in args.load:
        copy_library(name, "loaded by")
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
            if name not in seen:
                copy_library(name, "needed by")
    os.symlink(f"../usr/lib/{triplet}", os.path.join(root, "lib", triplet))

    # The network: the host's loopback is 10.0.2.2 (QEMU user networking); the broker's certificate
    # is for "localhost".
    with open(os.path.join(root, "etc/hosts"), "w") as f:
        f.write("10.0.2.2 localhost\n")
    os.makedirs(os.path.join(root, "modules"))
    for module in ["virtio_mmio", "failover", "net_failover", "virtio_net"]:
        source = os.path.join(args.vm_dir, "modules", module + ".ko")
        if not os.path.isfile(source):
            fail(f"{source} is missing (scripts/make-gpio-vm.sh)")
        shutil.copy2(source, os.path.join(root, "modules"))

    # The thing's credentials, made by scripts/devenv.sh.
    etc = os.path.join(root, "etc/tether")
    shutil.copy2(env["TETHER_CA_FILE"], os.path.join(etc, "ca.crt"))
    shutil.copy2(env["TETHER_THING_GPIO_VM_CERT"], os.path.join(etc, "device.crt"))
    shutil.copy2(env["TETHER_THING_GPIO_VM_KEY"], os.path.join(etc, "device.key"))
    port = env["TETHER_BROKER_PORT"]
    configs = {
        "good": {"chip": "9030000.pl061", "door": "3", "port": port},
        "bad-line": {"chip": "gpiochip0", "door": "8", "port": port},
        "bad-name": {"chip": "/dev/gpiochip0", "door": '"GPIO17"', "port": port},
        "bad-chip": {"chip": "pinctrl-rp1", "door": "3", "port": port},
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


def set_desired(api, document):
    request = urllib.request.Request(f"{api}/shadows/{THING}/desired", data=json.dumps(document).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=10) as answer:
        answer.read()


def get_shadow(api):
    with urllib.request.urlopen(f"{api}/shadows/{THING}", timeout=10) as answer:
        return json.loads(answer.read())


def run_vm(args, work, image, api):
    monitor = os.path.join(work, "monitor.sock")
    command = [args.qemu] + ARCHES[args.arch]["machine"] + ["-m", "512", "-smp", "1",
               "-netdev", "user,id=net0", "-device", "virtio-net-device,netdev=net0",
               "-display", "none", "-no-reboot", "-serial", "stdio",
               "-monitor", f"unix:{monitor},server,nowait",
               "-kernel", os.path.join(args.vm_dir, "vmlinuz"), "-initrd", image,
               "-append", "console=ttyAMA0 quiet panic=-1"]
    print("gpio_vm_test: " + " ".join(command), flush=True)
    vm = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    lines = []
    pressed = synced = desired = False

    def kill_later():
        time.sleep(args.timeout)
        if vm.poll() is None:
            print(f"gpio_vm_test: the VM ran {args.timeout} s: killed", flush=True)
            vm.kill()

    threading.Thread(target=kill_later, daemon=True).start()
    for raw in vm.stdout:
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        lines.append(line)
        print("vm| " + line, flush=True)
        if line.strip() == "@@ PRESS" and not pressed:  # after the first look at the lines
            pressed = True
            press_power_button(monitor)
        synced = synced or line.startswith("A| SYNCED")
        if pressed and synced and not desired:  # the shadow is synced: change it from the cloud
            desired = True
            set_desired(api, {"gpio": {"led": False}})
    vm.wait()
    return lines


class DevEnv:
    """scripts/devenv.sh in a private directory: the TLS broker, cloudsim, a certificate for THING."""

    def __init__(self, work):
        self.dir = os.path.join(work, "devenv")
        self.environ = dict(os.environ, TETHER_DEVENV_DIR=self.dir, TETHER_DEVENV_THINGS=THING,
                            TETHER_DEVENV_SOFTHSM="off")

    def __enter__(self):
        up = subprocess.run([os.path.join(REPO, "scripts/devenv.sh"), "up"], env=self.environ, capture_output=True,
                            text=True)
        if up.returncode != 0:
            fail("scripts/devenv.sh up failed: " + up.stdout[-2000:] + up.stderr[-2000:])
        env = {}
        with open(os.path.join(self.dir, "env")) as f:
            for line in f:
                m = re.match(r"export ([A-Z0-9_]+)=(.*)", line.strip())
                if m:
                    env[m.group(1)] = subprocess.run(["bash", "-c", f"printf %s {m.group(2)}"], capture_output=True,
                                                     text=True, check=True).stdout
        return env

    def __exit__(self, *exc):
        subprocess.run([os.path.join(REPO, "scripts/devenv.sh"), "down"], env=self.environ, capture_output=True)
        return False


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


def kernel_lines(lines, start, end):
    """{offset: (direction, level)} of the PL061 lines tether-agent holds, from a debugfs dump."""
    base, held = None, {}
    for line in section(lines, start, end):
        header = re.search(r"GPIOs (\d+)-\d+.*9030000\.pl061", line)
        if header:
            base = int(header.group(1))
        m = re.match(r"\s*gpio-(\d+)\s+\(([^|]*)\|([^)]*)\)\s+(in|out)\s+(hi|lo)", line)
        if m and base is not None and m.group(3).strip() == "tether-agent":
            held[int(m.group(1)) - base] = (m.group(4), m.group(5))
    return held


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--agent", required=True)
    parser.add_argument("--sysroot", required=True)
    parser.add_argument("--vm-dir", required=True)
    parser.add_argument("--arch", choices=sorted(ARCHES), default="arm64")
    parser.add_argument("--qemu", default="")
    parser.add_argument("--load", action="append", default=[],
                        help="a library the agent loads at run time (dlopen), by soname; repeatable")
    parser.add_argument("--timeout", type=int, default=240)
    args = parser.parse_args()
    args.qemu = args.qemu or ARCHES[args.arch]["qemu"]
    for path, what in [(args.agent, f"the {args.arch} tether-agent"), (os.path.join(args.vm_dir, "vmlinuz"),
                       f"the {args.arch} kernel (scripts/make-gpio-vm.sh {args.arch})"), (os.path.join(args.vm_dir, "busybox"),
                       "busybox (scripts/make-gpio-vm.sh)")]:
        if not os.path.isfile(path):
            fail(f"{what} is missing: {path}")
    for tool in [args.qemu, "readelf", "cpio"]:
        if shutil.which(tool) is None:
            fail(f"{tool} not found (scripts/install-deps.sh cross)")

    with tempfile.TemporaryDirectory(prefix="tether-gpio-vm-") as work:
        with DevEnv(work) as env:
            lines = run_vm(args, work, build_initramfs(args, work, env), env["CLOUDSIM_API"])
            try:
                shadow = get_shadow(env["CLOUDSIM_API"])
            except Exception as e:  # noqa: BLE001 - reported as a failure below
                shadow = {"error": str(e)}

    errors = []

    def expect(condition, message):
        if not condition:
            errors.append(message)

    text = "\n".join(lines)
    expect("@@ BOOTED" in text, "the VM did not boot to the test script")
    expect("@@ INSMOD-FAILED" not in text, "a network module did not load")
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
    expect(kernel_lines(lines, "@@ DEBUGFS 1", "@@ PRESS") == {0: ("out", "hi"), 1: ("out", "lo"), 3: ("in", "lo")},
           "the lines after the start (led initial true: high, buzzer_n active low initial true: low, door input): "
           f"{kernel_lines(lines, '@@ DEBUGFS 1', '@@ PRESS')}")
    expect(kernel_lines(lines, "@@ DEBUGFS 2", "@@ STOP").get(0) == ("out", "lo"),
           f"line 0 after desired.gpio.led = false: {kernel_lines(lines, '@@ DEBUGFS 2', '@@ STOP').get(0)}")
    expect(kernel_lines(lines, "@@ DEBUGFS 3", "B| @@ AGENT-EXIT").get(0) == ("out", "lo"),
           "the second run did not start led where the first left it (low, from the replica): "
           f"{kernel_lines(lines, '@@ DEBUGFS 3', 'B| @@ AGENT-EXIT').get(0)}")

    agent_out = [l[3:] for l in lines if l.startswith("A| ")]
    agent_err = section(lines, "@@ AGENT-STDERR", "@@ RESTART")
    expect("@@ AGENT-EXIT 0" in agent_out, "tether-agent did not exit 0: " + " | ".join(agent_err[-5:]))
    expect("B| @@ AGENT-EXIT 0" in lines, "the second run of tether-agent did not exit 0")
    expect("READY features=telemetry,shadow,gpio" in agent_out, "no READY features=telemetry,shadow,gpio")
    expect("CONNECTED" in agent_out, "the agent never connected to the host's broker: " + " | ".join(agent_err[-5:]))
    gpio_lines = [l for l in agent_out if l.startswith("GPIO ")]
    for wanted in ["GPIO led=1", "GPIO buzzer_n=1", "GPIO door=0"]:
        expect(wanted in gpio_lines[:3], f"the first readings lack {wanted}: {gpio_lines[:3]}")
    door = [l for l in gpio_lines if l.startswith("GPIO door=")]
    expect(door[:3] == ["GPIO door=0", "GPIO door=1", "GPIO door=0"],
           f"the power button's pulse on line 3 was not seen as door 0 -> 1 -> 0: {door}")
    telemetry = [l for l in agent_out if l.startswith("TELEMETRY ")]
    expect(any('"gpio":{"door":false,"led":true,"buzzer_n":true}' in l for l in telemetry[:1]),
           f"the first telemetry record lacks the lines: {telemetry[:1]}")
    expect(any('"door":true' in l for l in telemetry), "no telemetry record was sent with door true on the press")
    expect("DESIRED path=gpio.led value=false decision=accept" in agent_out,
           "desired.gpio.led = false was not applied")
    expect("GPIO led=0" in gpio_lines, "led did not read back 0 after the desired change")
    reported = shadow.get("state", {}).get("reported", {}).get("gpio")
    expect(reported == {"door": False, "led": False, "buzzer_n": True},
           f"the service's reported.gpio: {reported} (shadow: {json.dumps(shadow)[:300]})")
    if errors:
        for e in errors:
            print("gpio_vm_test: FAIL: " + e, file=sys.stderr)
        sys.exit(1)
    print("gpio_vm_test: passed (check-config x4, kernel line states, input pulse, telemetry, shadow -> output, "
          "restart from the replica)")


if __name__ == "__main__":
    main()
