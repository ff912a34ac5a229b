"""python_fetch.py MODE URL: Python's urllib (and json.loads for MODE parse), timed inside Python
(its start-up left out), for bench/http_bench. Prints the seconds it took."""
import json
import sys
import time
import urllib.request

mode, url = sys.argv[1], sys.argv[2]
start = time.monotonic()
with urllib.request.urlopen(url) as response:
    body = response.read()
if mode == "parse":
    json.loads(body)
print(time.monotonic() - start)
