// view_training.js — the loss curves of a training run, from the loss.csv of the model folder
// the server was started with (engram serve --model DIR: GET /v1/model/loss.csv). Reloaded
// every 10 s, since a run appends to it as it goes.
import { call } from "./api.js";
import { h, fill, say } from "./dom.js";
import { line_chart } from "./svg.js";

const POLL_MS = 10000;

export function render(root) {
  const msg = h("p", { class: "msg" });
  const chart = h("div", { id: "loss-chart" });
  root.append(h("h2", {}, "Training run"), msg, chart);
  let timer = null, stopped = false;

  async function load() {
    try {
      const text = await call("GET", "/v1/model/loss.csv");
      const series = parse_loss(text);
      if (!series.some(sr => sr.points.length)) say(msg, "loss.csv has no rows yet.");
      else { say(msg, ""); fill(chart, line_chart(series, { x_label: "step", y_label: "loss" })); }
    } catch (e) {
      if (e.status === 404 && /^no route/.test(e.reason)) {
        say(msg, "This server was started without --model: start it with `engram serve --model DIR` " +
                 "(DIR: an `engram-lm train --out` folder) to see its loss curves here.");
        return;  // nothing will appear later
      }
      say(msg, e.message, "error");
    }
    if (!stopped) timer = setTimeout(load, POLL_MS);
  }
  load();
  return () => { stopped = true; clearTimeout(timer); };
}

// step,tokens,lr,train_loss,val_loss,val_loss_nomem,tokens_per_s (lm/trainer.cc); validation
// columns are empty on lines without a validation pass.
export function parse_loss(text) {
  const lines = text.trim().split("\n");
  const head = lines.shift().split(",");
  const col = name => head.indexOf(name);
  const wanted = [["train", "train_loss"], ["validation", "val_loss"], ["validation, no memory", "val_loss_nomem"]];
  return wanted.filter(([, c]) => col(c) >= 0).map(([name, c]) => ({
    name,
    points: lines.map(l => l.split(",")).map(f => [Number(f[col("step")]), f[col(c)] === "" ? NaN : Number(f[col(c)])])
                 .filter(p => Number.isFinite(p[0]) && Number.isFinite(p[1])),
  }));
}
