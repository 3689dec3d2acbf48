#!/usr/bin/env python3
# Gateway memory under unauthenticated large bodies: starts `owlbox serve` (all roles, in-memory bus, SQLite),
# sends 24 concurrent well-formed jobs with a 25 MB prompt and no API key, prints the peak RSS (VmHWM) before and
# during. Usage: python3 tools/probes/gateway-bodies.py app/Owlbox.Cli/bin/Release/net10.0/owlbox.dll 18080
import http.client, sys, threading, time, subprocess, os, signal, re
dll, port = sys.argv[1], int(sys.argv[2])
env = dict(os.environ, Owlbox__Gateway__ApiKeys__0="k"*32, Owlbox__SqlitePath="/tmp/gw-%d.db" % port, Logging__LogLevel__Default="Warning")
p = subprocess.Popen(["dotnet", dll, "serve", "--urls", "http://127.0.0.1:%d" % port], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
for _ in range(100):
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=5); c.request("GET", "/healthz"); c.getresponse().read(); break
    except Exception: time.sleep(0.2)
def hwm():
    return int(re.search(r"VmHWM:\s+(\d+)", open("/proc/%d/status" % p.pid).read()).group(1)) // 1024
c = http.client.HTTPConnection("127.0.0.1", port); c.request("GET", "/v1/jobs/00000000-0000-0000-0000-000000000001"); c.getresponse().read()
open("/proc/%d/clear_refs" % p.pid, "w").write("5")
before = hwm()
body = b"{\"dataset\": {\"kind\": \"local\", \"location\": \"/x\"}, \"model\": \"m\", \"prompt\": \"" + b"a" * (25 << 20) + b"\"}"
codes = []
def send():
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        c.request("POST", "/v1/jobs", body=body, headers={"Content-Type": "application/json"})
        codes.append(c.getresponse().status)
    except Exception as e:
        codes.append(type(e).__name__)
t0 = time.time()
ts = [threading.Thread(target=send) for _ in range(24)]
[t.start() for t in ts]; [t.join() for t in ts]
print("%s: peak RSS %d MB before, %d MB during 24 x 25 MB unauthenticated bodies (+%d MB), %.1f s, answers %s" % (dll, before, hwm(), hwm() - before, time.time() - t0, sorted(set(map(str, codes)))))
p.send_signal(signal.SIGTERM); p.wait()
