"""N customers, every one with a birthday on 14 March, for the send
benchmarks (ledger.sh, smtp_throughput.sh, smtp_wire.sh).

usage: python3 benches/birthday_list.py OUT.csv N
"""
import sys

path, n = sys.argv[1], int(sys.argv[2])
with open(path, "w") as f:
    f.write("email,first_name,last_name,gender,language,birthday\n")
    for i in range(n):
        f.write(f"c{i}@example.gr,Σταμάτης,Παπαδόπουλος,m,el,1980-03-14\n")
