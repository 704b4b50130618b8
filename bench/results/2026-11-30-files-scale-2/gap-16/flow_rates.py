import re,sys,collections
series=collections.defaultdict(list)
lines=open(sys.argv[1]).read().split('\n'); hosts=sys.argv[2].split(',')
i=0;cur=None
while i<len(lines):
    l=lines[i]
    if l.startswith('=='):
        _,t,h=l.split(); t=float(t); cur=h
    else:
        m=re.match(r'\s*\d+\s+\d+\s+(\S+)\s+(\S+)',l)
        if m and i+1<len(lines):
            a=re.search(r'bytes_acked:(\d+)',lines[i+1])
            if a and not m.group(1).endswith(':22') and not m.group(2).endswith(':22'):
                series[(cur,m.group(1),m.group(2))].append((t,int(a.group(1))))
            i+=1
    i+=1
t0=min(v[0][0] for v in series.values())
for k,v in sorted(series.items()):
    if k[0] not in hosts or v[-1][1]<1e6: continue
    out=[round((v[j+3][1]-v[j][1])*8/(v[j+3][0]-v[j][0])/1000) for j in range(0,len(v)-3,3)]
    done=next((t for t,b in v if b>=v[-1][1]-1000),v[-1][0])
    print(f"{k[0]:6} -> {k[2].split(':')[0]:12} acked {v[-1][1]/2**20:5.1f} MiB by {done-t0:5.1f} s; kbit/s per ~9 s: {out}")
