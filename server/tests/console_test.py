#!/usr/bin/env python3
"""console_test.py — the console (/ui, docs/console.md) driven in headless Chromium against a
real `engram serve`.

    console_test.py ENGRAM_BINARY OUTPUT_DIR [with-lm]

Starts `engram serve` on 127.0.0.1 with a token, a temporary data folder and a model folder;
fills a memory through the API; then, in the browser: the token screen refuses a wrong token,
the memories list shows the memory, one is created and dropped, slots are paged, opened and
erased, a read shows the API's own weights, a gated write changes a value, a metric moves and
the loss curves are drawn. With `with-lm` (a build with the LM layer) the model folder also
holds a tiny model trained first (seconds): text typed in the Query view becomes the encode
API's vector, and the Generate view shows the API's completion and, per token, the slots read
and their weights. Every view is saved as a PNG in OUTPUT_DIR, with the page-load times
(timings.json). Every request the page made must have gone to this server.

Exits 77 (ctest: skipped) only when no browser can be driven: selenium, chromium or
chromedriver missing (scripts/install-deps.sh installs them).
"""
import json
import os
import re
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

TOKEN = "console-test-token"
LOAD_BUDGET_MS = 200  # docs/console.md: a page loads in under 200 ms from a local server
KEY_DIM, VALUE_DIM, SLOTS = 8, 4, 12


def skip(why):
    print(f"SKIPPED: {why}; install chromium, chromium-driver and python3-selenium "
          "(scripts/install-deps.sh) to run the console test")
    sys.exit(77)


try:
    from selenium import webdriver
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
    from selenium.webdriver.chrome.service import Service as ChromeService
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.select import Select
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:
    skip("python3 cannot import selenium")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """An `engram serve` process and a small client for its API."""

    def __init__(self, binary, data, extra=()):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = open(os.path.join(os.path.dirname(data), f"serve-{self.port}.log"), "w")
        self.proc = subprocess.Popen(
            [binary, "serve", "--data", data, "--port", str(self.port), "--threads", "2", "--token", TOKEN, *extra],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while True:
            try:
                if self.call("GET", "/v1/health")[0] == 200:
                    return
            except OSError:
                pass
            if self.proc.poll() is not None or time.time() > deadline:
                raise SystemExit(f"engram serve did not start (see {self.log.name})")
            time.sleep(0.1)

    def call(self, method, path, body=None, token=TOKEN):
        req = urllib.request.Request(self.base + path, method=method,
                                     data=None if body is None else json.dumps(body).encode())
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        if body is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=30) as res:
                text = res.read().decode()
                return res.status, (json.loads(text) if "json" in res.headers.get("Content-Type", "") else text), res.headers
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode(), e.headers

    def ok(self, method, path, body=None):
        status, answer, _ = self.call(method, path, body)
        assert 200 <= status < 300, f"{method} {path} -> {status} {answer}"
        return answer

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=60)
        self.log.close()


def check(cond, what):
    if not cond:
        raise AssertionError(what)
    print(f"ok: {what}")


def shown_bytes(text):
    """The number of bytes the console's bytes() wrote as `text` ("512 B", "1.5 KiB")."""
    number, unit = text.split()
    return float(number) * 1024 ** ["B", "KiB", "MiB", "GiB", "TiB"].index(unit)


def find_browser():
    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    driver_bin = shutil.which("chromedriver")
    if not chromium or not driver_bin:
        skip("no chromium or chromedriver on PATH")
    return chromium, driver_bin


def make_browser(chromium, driver_bin):
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1400,1000", "--no-first-run", "--disable-extensions",
                "--disable-background-networking", "--disable-component-update",
                # Nothing outside 127.0.0.1 resolves: a page that reached out would fail, and
                # the request log below would name it.
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    try:
        return webdriver.Chrome(service=ChromeService(executable_path=driver_bin), options=opts)
    except WebDriverException as e:
        skip(f"chromium could not be started ({e.msg})")


class Console:
    """The browser on the console, with waits (the page renders after its API calls return)."""

    def __init__(self, driver, server, out_dir):
        self.d, self.server, self.out = driver, server, out_dir

    def wait(self, cond, what, timeout=15):
        try:
            # Views redraw after their API calls: an element found may be replaced while read.
            return WebDriverWait(self.d, timeout, poll_frequency=0.05,
                                 ignored_exceptions=(StaleElementReferenceException,)).until(lambda d: cond())
        except Exception as e:
            self.shot("failure")
            raise AssertionError(f"timed out waiting for {what}") from e

    def css(self, selector):
        return self.d.find_elements(By.CSS_SELECTOR, selector)

    def one(self, selector):
        return self.wait(lambda: (self.css(selector) or [None])[0], selector)

    def go(self, hash_):
        self.d.execute_script("location.hash = arguments[0]", hash_)
        self.wait(lambda: self.d.execute_script("return document.getElementById('view').dataset.view")
                  == hash_.split("/")[0], f"view {hash_}")

    def type(self, selector, text):
        el = self.one(selector)
        el.clear()
        el.send_keys(text)

    def shot(self, name):
        path = os.path.join(self.out, f"{name}.png")
        self.d.save_screenshot(path)
        return path


def load_times(c, cold, n=9):
    """Loads /ui n times (token already in sessionStorage) and answers the Navigation Timing
    load times and the time until the memories table was drawn, in ms. cold: with the HTTP
    cache emptied before each load (else the files are revalidated: 304s)."""
    loads, ready = [], []
    for i in range(n):
        if cold:
            c.d.execute_cdp_cmd("Network.clearBrowserCache", {})
        # A new query string each time: the same URL would only be a jump within the page.
        c.d.get(f"{c.server.base}/ui?load={i}{'c' if cold else 'w'}#memories")
        c.wait(lambda: c.d.execute_script(
            "return performance.getEntriesByName('engram-ready').length > 0 && "
            "performance.getEntriesByType('navigation')[0].loadEventEnd > 0"), "the page to load")
        nav = c.d.execute_script("return performance.getEntriesByType('navigation')[0].toJSON()")
        loads.append(nav["loadEventEnd"] - nav["startTime"])
        ready.append(c.d.execute_script("return performance.getEntriesByName('engram-ready')[0].startTime"))
    return loads, ready


TRAIN_TEXT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "lm", "testdata", "austen-sample.txt")
NOTES = ["It is a truth universally acknowledged", "that a single man in possession of a good fortune",
         "must be in want of a wife", "Mr. Bennet was among the earliest", "Elizabeth walked on alone"]


def train_tiny_model(binary, model_dir):
    """A 2-layer, width-32 model trained for 5 steps (about 2 s): enough to encode and generate."""
    t0 = time.time()
    subprocess.run([binary, "train", TRAIN_TEXT, "--out", model_dir, "--vocab-size", "300", "--layers", "2",
                    "--heads", "2", "--width", "32", "--block-size", "16", "--segments", "2", "--batch", "2",
                    "--steps", "5", "--warmup", "1", "--threads", "1", "--seed", "14", "--quiet"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    print(f"ok: a tiny model trained in {time.time() - t0:.1f} s")


def check_model_views(c, server):
    """Query by text and Generate, against the API's own answers."""
    model = server.ok("GET", "/v1/model")
    dim = model["memory_dim"]
    keys = [server.ok("POST", "/v1/model/encode", {"text": t})["key"] for t in NOTES]
    server.ok("PUT", "/v1/memories/notes", {"key_dim": dim, "value_dim": dim, "index": "Flat"})
    server.ok("POST", "/v1/memories/notes/slots", {"keys": keys, "values": keys, "payloads": NOTES})
    c.d.refresh()  # the memory picker lists the new memory
    c.wait(lambda: c.css('#memory-picker option[value="notes"]'), "notes in the memory picker")

    # Query: the text becomes the encode API's vector; searching with it finds that slot first.
    c.go("query/notes")
    c.type("#query-text", NOTES[2])
    c.one("#query-encode").click()
    c.wait(lambda: c.one("#query-vector").get_attribute("value"), "the encoded text in the query box")
    shown = [float(x) for x in c.one("#query-vector").get_attribute("value").split(",")]
    check(shown == keys[2], f"the query box holds the encode API's {dim} numbers for the text typed")
    Select(c.one("#query-op")).select_by_value("search")
    c.type("#query-k", "3")
    c.one("#query-run").click()
    c.wait(lambda: len(c.css("#query-table tr[data-id]")) == 3, "the search's 3 rows")
    top = c.css("#query-table tr[data-id]")[0]
    check(NOTES[2] in top.text, "searching with the text's vector finds the slot written with it first")
    c.shot("query-text")

    # Generate: the completion and, per token, the slots read with their weights: the API's.
    c.go("generate/notes")
    c.type("#gen-prompt", "It is a truth")
    c.type("#gen-max", "6")
    check(c.one("#gen-use-memory").is_selected(), "the generate view reads the chosen memory when its widths fit")
    c.one("#gen-run").click()
    c.wait(lambda: c.css("#gen-tokens tr[data-step]"), "the generated tokens")
    api = server.ok("POST", "/v1/model/generate",
                    {"prompt": "It is a truth", "max_new_tokens": 6, "temperature": 0, "seed": 0, "memory": "notes"})
    check(c.one("#gen-completion .continuation").get_attribute("textContent") == api["text"],
          f"the completion shown is the API's {api['text']!r}")
    rows = c.css("#gen-tokens tr[data-step]")
    check([int(r.get_attribute("data-token")) for r in rows] == [t["token"] for t in api["tokens"]],
          f"the {len(rows)} tokens shown are the API's")
    for row, tok in zip(rows, api["tokens"]):
        reads = row.find_elements(By.CSS_SELECTOR, "tr.read")
        got = [(int(r.get_attribute("data-id")), float(r.get_attribute("data-weight"))) for r in reads]
        want = [(r["id"], r["weight"]) for r in tok["reads"]]
        assert [i for i, _ in got] == [i for i, _ in want], f"token {tok}: slots {got} shown, API {want}"
        assert all(abs(a - b) < 1e-6 for (_, a), (_, b) in zip(got, want)), f"token {tok}: weights {got}, API {want}"
    check(all(t["reads"] for t in api["tokens"]) and
          all(abs(sum(r["weight"] for r in t["reads"]) - 1) < 1e-4 for t in api["tokens"]),
          "every token read the 5 notes, with weights that sum to 1, and the page shows each slot and weight as the API")
    first = rows[0].find_elements(By.CSS_SELECTOR, "tr.read")[0]
    check(first.find_element(By.CSS_SELECTOR, "td.payload").text == api["tokens"][0]["reads"][0]["payload"],
          "a slot read is shown with its payload")
    c.shot("generate")


def main():
    binary, out_dir = sys.argv[1], sys.argv[2]
    with_lm = len(sys.argv) > 3 and sys.argv[3] == "with-lm"
    browser = find_browser()  # before anything is started: a skip leaves nothing behind
    os.makedirs(out_dir, exist_ok=True)
    for old in os.listdir(out_dir):  # a failure.png of an earlier run must not linger
        if old.endswith(".png"):
            os.remove(os.path.join(out_dir, old))
    tmp = tempfile.mkdtemp(prefix="engram-console-")
    model = os.path.join(tmp, "model")
    os.makedirs(model)
    if with_lm:
        train_tiny_model(binary, model)  # serve --model then runs in engram-lm, with the model loaded
    # A training log in the format lm/trainer.cc writes (validation on every other line).
    with open(os.path.join(model, "loss.csv"), "w") as f:
        f.write("step,tokens,lr,train_loss,val_loss,val_loss_nomem,tokens_per_s\n")
        for step in range(50, 1001, 50):
            val = f"{3.9 * (step / 50) ** -0.3:.4f}" if step % 100 == 0 else ""
            nomem = f"{4.2 * (step / 50) ** -0.25:.4f}" if step % 100 == 0 else ""
            f.write(f"{step},{step * 4096},0.0003,{4.0 * (step / 50) ** -0.28:.4f},{val},{nomem},51234\n")

    server = Server(binary, os.path.join(tmp, "data"), ["--model", model])
    driver = None
    try:
        rng = random.Random(14)
        keys = [[rng.uniform(-1, 1) for _ in range(KEY_DIM)] for _ in range(SLOTS)]
        values = [[rng.uniform(-1, 1) for _ in range(VALUE_DIM)] for _ in range(SLOTS)]
        server.ok("PUT", "/v1/memories/docs", {"key_dim": KEY_DIM, "value_dim": VALUE_DIM, "index": "Flat"})
        ids = server.ok("POST", "/v1/memories/docs/slots",
                        {"keys": keys, "values": values, "payloads": [f"fact number {i}" for i in range(SLOTS)]})["ids"]

        # The files: compiled in, typed, cached by ETag, served without the token.
        status, _, headers = server.call("GET", "/ui/app.js", token=None)
        check(status == 200 and headers["Content-Type"].startswith("text/javascript"), "app.js is served as JavaScript without a token")
        check("default-src 'none'" in headers["Content-Security-Policy"], "the page may load nothing from elsewhere (CSP)")
        req = urllib.request.Request(server.base + "/ui/app.js", headers={"If-None-Match": headers["ETag"]})
        try:
            urllib.request.urlopen(req)
            check(False, "an unchanged file is answered 304")
        except urllib.error.HTTPError as e:
            check(e.code == 304, "an unchanged file is answered 304")

        driver = make_browser(*browser)
        c = Console(driver, server, out_dir)

        # 1. The token screen refuses a wrong token, then takes the right one.
        driver.get(server.base + "/ui")
        c.wait(lambda: c.one("#token-screen").is_displayed(), "the token screen")
        c.type("#token-input", "not-the-token")
        c.one("#token-form button").click()
        c.wait(lambda: "Wrong token" in c.one("#token-msg").text, "the wrong token to be refused")
        check(not c.one("#view").is_displayed() and c.d.execute_script("return sessionStorage.getItem('engram.token')") is None,
              "a wrong token opens nothing and is not kept")
        c.shot("token")
        c.type("#token-input", TOKEN)
        c.one("#token-form button").click()
        c.wait(lambda: c.css('#memory-table tr[data-memory="docs"]'), "the memories list")
        row = c.one('#memory-table tr[data-memory="docs"]')
        check(row.find_element(By.CSS_SELECTOR, '[data-field="slots"]').text == str(SLOTS), "the memories list shows docs with its 12 slots")
        stats = server.call("GET", "/v1/memories/docs")[1]["stats"]
        index_file = row.find_element(By.CSS_SELECTOR, '[data-field="index-bytes"]').text
        check(index_file == "none yet" if stats["index_bytes"] == 0 else index_file.endswith("B"),
              f"the memories list shows the index checkpoint's size ({index_file!r}; the API: {stats['index_bytes']} bytes)")
        on_disk = row.find_element(By.CSS_SELECTOR, '[data-field="store-bytes"]').text
        check(stats["store_bytes"] > 0 and abs(shown_bytes(on_disk) - stats["store_bytes"]) <= 0.06 * stats["store_bytes"],
              f"the memories list shows the memory's share of the store ({on_disk!r}; the API: {stats['store_bytes']} bytes)")
        check(re.fullmatch(r"\d+ (s|min|h|d)", row.find_element(By.CSS_SELECTOR, '[data-field="checkpoint-age"]').text) is not None,
              "the memories list shows the index checkpoint's age")

        # Page load, with the token kept in the tab.
        timings = {}
        for kind in ("cold", "warm"):
            loads, ready = load_times(c, cold=kind == "cold")
            timings[kind] = {"navigation_load_ms": loads, "ready_ms": ready,
                             "median_load_ms": statistics.median(loads), "median_ready_ms": statistics.median(ready)}
            print(f"{kind} page load (navigationTiming loadEventEnd) ms: {[round(x, 1) for x in loads]}; "
                  f"memories drawn at ms: {[round(x, 1) for x in ready]}")
        with open(os.path.join(out_dir, "timings.json"), "w") as f:
            json.dump(timings, f, indent=1)
        # The budget is on the page load as Navigation Timing defines it (the document and every
        # script and sheet it names, loaded and run). The memories table needs API calls after
        # that; its time is recorded, not asserted (on a loaded CI machine it varies most).
        for kind, t in timings.items():
            check(t["median_load_ms"] < LOAD_BUDGET_MS,
                  f"the console loads in under {LOAD_BUDGET_MS} ms with a {kind} cache (navigationTiming, median of 9)")
        c.wait(lambda: c.css('#memory-table tr[data-memory="docs"]'), "the memories list")
        c.shot("memories")

        # Create a memory from the page, then drop it (the dialog wants its name typed).
        c.one("#create-form").find_element(By.XPATH, "..").find_element(By.TAG_NAME, "summary").click()
        c.type('#create-form input[name="name"]', "scratch")
        c.type('#create-form input[name="key_dim"]', "4")
        c.type('#create-form input[name="value_dim"]', "2")
        c.one('#create-form button[type="submit"]').click()
        c.wait(lambda: c.css('#memory-table tr[data-memory="scratch"]'), "the created memory")
        check(server.ok("GET", "/v1/memories/scratch")["config"]["key_dim"] == 4, "the page created memory scratch")
        c.one('button[data-drop="scratch"]').click()
        c.wait(lambda: c.one("#drop-dialog").is_displayed(), "the drop dialog")
        check(not c.one("#drop-confirm").is_enabled(), "drop waits for the name to be typed")
        c.type("#drop-confirm-name", "scratch")
        c.shot("drop-confirm")
        c.one("#drop-confirm").click()
        c.wait(lambda: not c.css('#memory-table tr[data-memory="scratch"]'), "the dropped memory to go")
        check(server.call("GET", "/v1/memories/scratch")[0] == 404, "the page dropped memory scratch")

        # 2. Slots: paged, with payloads and keys as sparklines; open one; erase one.
        c.go("slots/docs")
        c.wait(lambda: len(c.css("#slot-list tr[data-slot]")) == SLOTS, "a page of 12 slots")
        first = c.one('#slot-list tr[data-slot="0"]')
        check("fact number 0" in first.text, "slot payloads are listed")
        drawn = json.loads(first.find_elements(By.CSS_SELECTOR, "svg.spark")[0].get_attribute("data-values"))
        check(max(abs(a - b) for a, b in zip(drawn, keys[0])) < 1e-6, "slot 0's key sparkline draws its key")
        Select(c.one("#page-size")).select_by_value("10")
        c.wait(lambda: len(c.css("#slot-list tr[data-slot]")) == 10, "a page of 10 slots")
        c.one("#next-page").click()
        c.wait(lambda: [r.get_attribute("data-slot") for r in c.css("#slot-list tr[data-slot]")] == ["10", "11"], "the second page")
        c.one("#prev-page").click()
        c.wait(lambda: len(c.css("#slot-list tr[data-slot]")) == 10, "back to the first page")
        c.one('button[data-open="3"]').click()
        c.wait(lambda: c.css('#slot-open[data-slot="3"]'), "slot 3 opened")
        c.shot("slots")
        erase = c.one('#slot-list button[data-erase="9"]')
        erase.click()
        check(server.call("GET", "/v1/memories/docs/slots/9")[0] == 200, "one click does not erase")
        erase.click()
        c.wait(lambda: not c.css('#slot-list tr[data-slot="9"]'), "slot 9 to leave the list")
        check(server.call("GET", "/v1/memories/docs/slots/9")[0] == 404, "two clicks erased slot 9")
        c.wait(lambda: len(c.css("#slot-list tr[data-slot]")) == 10, "the page refilled past the erased slot")

        # 3. Query: slot 5's key as the query; the weights drawn are the API's.
        c.go("query/docs")
        c.type("#query-slot", "5")
        c.one("#query-use-slot").click()
        c.wait(lambda: c.one("#query-vector").get_attribute("value"), "slot 5's key in the query box")
        c.type("#query-k", "4")
        c.type("#query-temperature", "0.5")
        c.one("#query-run").click()
        c.wait(lambda: len(c.css("#query-table tr[data-id]")) == 4, "the read's 4 rows")
        api = server.ok("POST", "/v1/memories/docs/read", {"queries": [keys[5]], "k": 4, "temperature": 0.5})
        rows = c.css("#query-table tr[data-id]")
        shown = [(int(r.get_attribute("data-id")), float(r.get_attribute("data-weight"))) for r in rows]
        check([i for i, _ in shown] == api["ids"][0], f"the read shows the API's ids {api['ids'][0]}")
        check(all(abs(w - a) < 1e-6 for (_, w), a in zip(shown, api["weights"][0])),
              f"the weights shown equal the API's {[round(w, 4) for w in api['weights'][0]]}")
        texts = [float(r.find_element(By.CSS_SELECTOR, ".w").text) for r in rows]
        check(all(abs(t - a) <= 5e-4 * max(1, abs(a)) for t, a in zip(texts, api["weights"][0])), "the weights' printed numbers too")
        check("fact number 5" in rows[0].text, "the top row's payload is slot 5's")
        read = json.loads(c.one("#read-vector svg.spark").get_attribute("data-values"))
        check(max(abs(a - b) for a, b in zip(read, api["reads"][0])) < 1e-6, "the read vector drawn is the API's")
        c.shot("query")
        rows[0].find_element(By.TAG_NAME, "a").click()
        c.wait(lambda: c.css('#slot-open[data-slot="5"]'), "a result's id to open its slot")
        check("fact number 5" in c.one("#slot-open").text, "a result's id opens that slot in the slots view")

        # 4. A gated write: the values before and after, as the API holds them.
        c.go("write/docs")
        c.type("#write-slot", "2")
        c.one("#write-use-slot").click()
        c.wait(lambda: c.one("#write-query").get_attribute("value"), "slot 2's key in the query box")
        before = server.ok("GET", "/v1/memories/docs/slots/2")["value"]
        c.type("#write-value", ", ".join(["1"] * VALUE_DIM))
        c.type("#write-k", "2")
        c.one("#write-run").click()
        c.wait(lambda: len(c.css("#write-table tr[data-id]")) == 2, "the write's 2 rows")
        top = c.one("#write-table tr[data-id]")
        check(top.get_attribute("data-id") == "2", "the write's top slot is slot 2")
        after = server.ok("GET", "/v1/memories/docs/slots/2")["value"]
        shown_before = json.loads(top.get_attribute("data-before"))
        shown_after = json.loads(top.get_attribute("data-after"))
        check(max(abs(a - b) for a, b in zip(shown_before, before)) < 1e-6, "the page shows slot 2's value before the write")
        check(max(abs(a - b) for a, b in zip(shown_after, after)) < 1e-6 and after != before,
              "the page shows slot 2's changed value after the write")
        check("✓" in top.text, "the value after matches g·w + (1−g)·v")
        c.shot("write")

        # 5. Metrics: reads through the API move the read route's counter on the page.
        c.go("metrics")
        read_row = 'tr[data-route="POST /v1/memories/{name}/read"]'
        c.wait(lambda: c.css(read_row), "the read route in the metrics")
        count0 = int(c.one(read_row).get_attribute("data-count"))
        for _ in range(5):
            server.ok("POST", "/v1/memories/docs/read", {"queries": [keys[0]], "k": 2})
        c.wait(lambda: int(c.one(read_row).get_attribute("data-count")) >= count0 + 5, "the read counter to move", timeout=15)
        check(True, f"the read route's count moved from {count0} to {c.one(read_row).get_attribute('data-count')}")
        c.shot("metrics")

        # 6. Training: the loss curves of the model folder.
        c.go("training")
        c.wait(lambda: len(c.css("#loss-chart polyline.series")) == 3, "three loss curves")
        check(len(c.one('#loss-chart polyline[data-name="train"]').get_attribute("points").split()) == 20,
              "the train curve has loss.csv's 20 points")
        c.shot("training")

        if with_lm:
            check_model_views(c, server)

        # Every request the page made went to this server.
        urls = set()
        for entry in driver.get_log("performance"):
            msg = json.loads(entry["message"])["message"]
            if msg["method"] == "Network.requestWillBeSent":
                urls.add(msg["params"]["request"]["url"])
        outside = [u for u in urls if not u.startswith(server.base + "/") and not u.startswith("data:")]
        check(urls and not outside, f"all {len(urls)} distinct URLs the page requested are this server's {outside}")
        problems = [e["message"] for e in driver.get_log("browser")
                    if "Content Security Policy" in e["message"] or "Uncaught" in e["message"]]
        check(not problems, f"no script errors or CSP violations {problems}")

        # A server without a model: no text box in Query, and Generate says how to get one.
        plain = Server(binary, os.path.join(tmp, "plain"))
        try:
            plain.ok("PUT", "/v1/memories/m", {"key_dim": 2, "value_dim": 2})
            c.server = plain
            driver.get(plain.base + "/ui#generate/m")
            c.type("#token-input", TOKEN)
            c.one("#token-form button").click()
            c.wait(lambda: "engram serve --model DIR" in c.one("#gen-no-model").text, "the generate view's advice")
            check(True, "without a model the generate view says how to start the server with one")
            c.go("query/m")
            c.one("#query-vector")
            check(not c.css("#query-text"), "without a model the query view offers no text box")
        finally:
            plain.stop()
    finally:
        if driver:
            driver.quit()
        server.stop()

    # --no-ui: none of it, and the API as before.
    bare = Server(binary, os.path.join(tmp, "data"), ["--no-ui"])
    try:
        check(bare.call("GET", "/ui")[0] == 404 and bare.call("GET", "/ui/app.js", token=None)[0] == 401,
              "--no-ui serves no console (and /ui/... needs the token like any path)")
        check(bare.ok("GET", "/v1/memories")["memories"] == ["docs"] + (["notes"] if with_lm else []),
              "--no-ui leaves the API as it was")
        status, answer, _ = bare.call("GET", "/v1/model")
        check(status == 404 and "engram serve --model" in answer, "without --model, GET /v1/model is 404 saying how to load one")
    finally:
        bare.stop()
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"screenshots and timings in {out_dir}")


if __name__ == "__main__":
    main()
