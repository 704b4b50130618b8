import sys, collections
f = sys.argv[1]
rows = [l.split() for l in open(f)]
by = collections.defaultdict(list)
for t, h, rx, tx in rows: by[h].append((float(t), int(rx), int(tx)))
cap = 4e6/8
t0 = min(v[0][0] for v in by.values())
print("host  rx_MiB  tx_MiB  busy-downlink-% (rx over the run from its first to its last rx byte)  rx per 10s bucket (% of 4mbit)")
for h in sorted(by, key=lambda x: (len(x), x)):
    v = by[h]
    rx0, tx0 = v[0][1], v[0][2]
    act = [(t, rx) for t, rx, tx in v]
    # first and last time rx moved by > 50 KB
    start = next((a[0] for a, b in zip(act, act[1:]) if b[1]-a[1] > 50000), None)
    end = next((b[0] for a, b in reversed(list(zip(act, act[1:]))) if b[1]-a[1] > 50000), None)
    buckets = []
    for i in range(0, len(v)-5, 5):
        dt = v[i+5][0]-v[i][0]; buckets.append(round(100*(v[i+5][1]-v[i][1])/dt/cap))
    u = 100*(v[-1][1]-rx0)/(end-start)/cap if start and end and end > start else 0
    print(f"{h:7} {(v[-1][1]-rx0)/2**20:6.1f} {(v[-1][2]-tx0)/2**20:6.1f}  {u:4.0f}% from {start-t0 if start else 0:5.1f} to {end-t0 if end else 0:5.1f}  {buckets}")
