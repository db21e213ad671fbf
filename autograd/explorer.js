// Steps through a recorded backward sweep (TRACE, from autograd.trace) on Graphviz's SVG.
// Nodes are found by their DOT id (the <title> of each node group) and edges by their id.
"use strict";
(function () {
  const T = TRACE;
  const steps = T.steps;
  const count = steps.length;
  const names = T.names;
  const rootName = names[T.root];

  // ---- facts derived once from the trace ------------------------------------------------
  const stepOf = new Array(count);       // node index -> the step that processes it
  const received = T.nodes.map(() => []); // node index -> [{step, c}] in sweep order
  steps.forEach((step, s) => {
    stepOf[step.node] = s;
    step.contributions.forEach((c) => received[c.child].push({ step: s, c: c }));
  });

  // ---- numbers: the same short form as the Python frames --------------------------------
  function strip(text) {
    return text.includes(".") ? text.replace(/0+$/, "").replace(/\.$/, "") : text;
  }
  function g4(x) { // Python's f"{x:.4g}"
    if (Number.isNaN(x)) return "nan";
    if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
    if (x === 0) return Object.is(x, -0) ? "-0" : "0";
    const [m, ex] = x.toExponential(3).split("e"); // rounds to 4 significant digits first
    const e = Number(ex);
    if (e < -4 || e >= 4) {
      return strip(m) + "e" + (e < 0 ? "-" : "+") + String(Math.abs(e)).padStart(2, "0");
    }
    return strip(x.toFixed(3 - e));
  }
  function fmt(x) {
    const text = g4(x);
    const digits = text.replace(/^-/, "");
    if (/^[0-9]+$/.test(digits) && (digits.length < 4 || Number.isInteger(x))) return text + ".0";
    return text;
  }
  function factor(x) { // the right side of a product: negatives in parentheses
    return x < 0 || Object.is(x, -0) ? "(" + fmt(x) + ")" : fmt(x);
  }

  // ---- text helpers ---------------------------------------------------------------------
  function el(tag, attrs, ...kids) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k.startsWith("data-")) node.setAttribute(k, v);
      else node[k] = v;
    }
    for (const kid of kids) node.append(kid);
    return node;
  }
  function wrap(name) { // dL/dx, but dL/d(layer.0.w.1): long names read better in parentheses
    return /^[A-Za-z][A-Za-z0-9_]{0,5}$/.test(name) ? name : "(" + name + ")";
  }
  function d(top, bottom) {
    return "d" + wrap(top) + "/d" + wrap(bottom);
  }
  function sumText(terms, total) {
    if (terms.length === 1) return fmt(total);
    const shown = terms.length <= 5
      ? terms.map((t, k) => (k === 0 ? fmt(t) : factor(t)))
      : [fmt(terms[0]), factor(terms[1]), "\u2026", factor(terms[terms.length - 1])];
    return shown.join(" + ") + " = " + fmt(total);
  }
  function childrenOf(i) {
    return steps[stepOf[i]].contributions.map((c) => names[c.child]);
  }
  // How tightly a name binds, read from its top-level operators: a label may be an expression
  // ("a3 - y"), and an operand is bracketed wherever precedence needs it, (a3 - y)**2.
  const ADD = 1, MUL = 2, NEG = 3, POW = 4, ATOM = 5;
  function precedence(text) {
    let depth = 0;
    let lowest = ATOM;
    let previous = ""; // the last non-space character at depth 0: is a +/- binary or a sign?
    for (let k = 0; k < text.length; k++) {
      const ch = text[k];
      if (ch === "(" || ch === "[") depth++;
      else if (ch === ")" || ch === "]") depth--;
      else if (depth === 0 && ch !== " ") {
        if (ch === "+" || ch === "-" || ch === "\u2212") {
          const binary = previous !== "" && !"+-*/\u2212".includes(previous);
          lowest = Math.min(lowest, binary ? ADD : NEG);
        } else if (ch === "*" && text[k + 1] === "*") {
          lowest = Math.min(lowest, POW);
          k++;
        } else if (ch === "*" || ch === "/") {
          lowest = Math.min(lowest, MUL);
        }
      }
      if (depth === 0 && ch !== " ") previous = ch;
    }
    return lowest;
  }
  function operand(name, bracketBelow) { // name, in brackets if it binds less than bracketBelow
    return precedence(name) < bracketBelow ? "(" + name + ")" : name;
  }
  const BINARY = { "+": ADD, "-": ADD, "*": MUL, "/": MUL };
  function formula(i) {
    const op = T.nodes[i].op;
    const kids = childrenOf(i);
    if (!op) return names[i] + " is a leaf: an input or a parameter";
    let rhs;
    if (kids.length === 2 && op in BINARY) {
      // Left-associative: a - b - c is (a - b) - c, so only the right side of an equal rank
      // needs brackets: a - (b - c), a / (b * c).
      const rank = BINARY[op];
      rhs = operand(kids[0], rank) + " " + op + " " + operand(kids[1], rank + 1);
    } else if (kids.length === 2 && op === "**") {
      rhs = operand(kids[0], POW + 1) + "**" + operand(kids[1], ATOM);
    } else if (op.startsWith("**") && kids.length === 1) {
      rhs = operand(kids[0], POW + 1) + op;
    } else if (op === "neg" && kids.length === 1) {
      rhs = "\u2212" + operand(kids[0], POW);
    } else {
      const args = kids.length <= 6 ? kids
        : kids.slice(0, 4).concat(["\u2026", kids[kids.length - 1]]);
      rhs = op + "(" + args.join(", ") + ")";
    }
    return names[i] + " = " + rhs;
  }

  // ---- the SVG: groups by DOT id --------------------------------------------------------
  const svg = document.querySelector("#graph svg");
  const groups = new Map();
  for (const g of svg.querySelectorAll("g.node")) {
    const title = g.querySelector("title");
    if (title) groups.set(title.textContent.trim(), g);
  }
  const edges = new Map();
  for (const g of svg.querySelectorAll("g.edge")) edges.set(g.id, g);
  // Each record's "grad ..." text is rewritten per step to the running total.
  const gradTexts = T.ids.map((id) => {
    const g = groups.get(id);
    if (!g) return null;
    for (const t of g.querySelectorAll("text")) {
      if (/^\s*grad\b/.test(t.textContent)) return t;
    }
    return null;
  });

  function runningTotal(j, s) {
    let total = j === T.root ? T.gradient : 0;
    for (const r of received[j]) {
      if (r.step > s) break;
      total = r.c.total;
    }
    return total;
  }

  // Only what changes is touched: on a 400-node graph, rewriting every class and text each
  // step costs the browser a full restyle.
  let marked = [];
  const shownGrads = T.ids.map(() => "");

  function paintGraph(s) {
    const i = steps[s].node;
    const id = T.ids[i];
    for (const [g, name] of marked) g.classList.remove(name);
    marked = [];
    function mark(g, name) {
      if (g) {
        g.classList.add(name);
        marked.push([g, name]);
      }
    }
    mark(groups.get(id), "current");
    mark(groups.get(id + "op"), "current");
    for (const c of steps[s].contributions) {
      mark(groups.get(T.ids[c.child]), "target");
      mark(edges.get("e_" + T.ids[c.child] + "_" + id + "_" + c.position), "active");
    }
    T.ids.forEach((_, j) => {
      const text = gradTexts[j];
      if (!text) return;
      // grey: nothing received yet; amber: more to come; green: final.
      const got = received[j].filter((r) => r.step <= s).length;
      const state = j === T.root || got === received[j].length ? "final"
        : got === 0 ? "pending" : "partial";
      const shown = "grad " + fmt(runningTotal(j, s)) + " " + state;
      if (shown === shownGrads[j]) return;
      shownGrads[j] = shown;
      text.textContent = "grad " + fmt(runningTotal(j, s));
      text.setAttribute("class", "grad-" + state);
    });
    const focus = [groups.get(id), groups.get(id + "op")]
      .concat(steps[s].contributions.map((c) => groups.get(T.ids[c.child])));
    showInPane(focus.filter(Boolean));
  }

  // ---- zoom and scrolling: the graph keeps a readable size; the pane follows the step ----
  const pane = document.getElementById("graph");
  const box = svg.viewBox.baseVal;
  const PX_PER_PT = 4 / 3; // Graphviz sizes the picture in points
  const READABLE = 1;       // the zoom a graph too big to fit opens at: full-size text
  const LEGIBLE = 0.45;     // below this zoom the records' 11-point text is too small to read
  let zoom = 1;
  svg.removeAttribute("width");
  svg.removeAttribute("height");
  // A wide graph (the usual left-to-right one) gets the full width, the panel goes below it.
  document.querySelector("main").classList.toggle("stacked", box.width > 2 * box.height);

  function fitZoom() {
    const room = pane.getBoundingClientRect();
    return Math.min((room.width - 24) / (box.width * PX_PER_PT),
      (room.height - 24) / (box.height * PX_PER_PT));
  }
  function setZoom(z) {
    zoom = Math.min(4, Math.max(0.05, z));
    svg.style.width = box.width * PX_PER_PT * zoom + "px";
    svg.style.height = box.height * PX_PER_PT * zoom + "px";
    document.getElementById("zoom-level").textContent = Math.round(zoom * 100) + "%";
    paintGraph(current);
  }
  function showInPane(elements) {
    // Centre the current node and its operands, scrolling only when they are not all visible.
    if (elements.length === 0) return;
    const view = pane.getBoundingClientRect();
    const rects = elements.map((e) => e.getBoundingClientRect());
    const left = Math.min(...rects.map((r) => r.left));
    const right = Math.max(...rects.map((r) => r.right));
    const top = Math.min(...rects.map((r) => r.top));
    const bottom = Math.max(...rects.map((r) => r.bottom));
    if (left < view.left || right > view.right) {
      pane.scrollLeft += (left + right) / 2 - (view.left + view.right) / 2;
    }
    if (top < view.top || bottom > view.bottom) {
      pane.scrollTop += (top + bottom) / 2 - (view.top + view.bottom) / 2;
    }
  }

  // ---- the panel ------------------------------------------------------------------------
  const panel = document.getElementById("panel");

  function upstreamBlock(s) {
    const step = steps[s];
    const i = step.node;
    const y = names[i];
    const block = el("section", { className: "upstream" });
    block.append(el("h3", {}, "1. Upstream gradient"));
    let why;
    if (i === T.root) {
      why = "The sweep starts here: " + d(rootName, rootName) + " is the seed " +
        fmt(T.gradient) + ".";
    } else if (received[i].length === 1) {
      why = y + " is used once, so its gradient is what that use sent back (step " +
        (received[i][0].step + 1) + ").";
    } else {
      why = y + " is used " + received[i].length + " times: its gradient is the sum of " +
        "what each use sent back. All of them come before this step, so it is final.";
    }
    const terms = received[i].map((r) => r.c.contribution);
    block.append(el("p", { className: "math big" },
      d(rootName, y) + " = " + sumText(terms.length > 1 ? terms : [step.upstream], step.upstream)));
    block.append(el("p", { className: "why" }, why));
    if (received[i].length > 1) {
      const list = el("ul", { className: "sources" });
      for (const r of received[i].slice(0, 8)) {
        const user = steps[r.step].node;
        list.append(el("li", { "data-ref": T.ids[user] },
          el("span", { className: "math" }, fmt(r.c.contribution)),
          " from " + formula(user) + " (step " + (r.step + 1) + ")"));
      }
      if (received[i].length > 8) list.append(el("li", {}, "\u2026"));
      block.append(list);
    }
    return block;
  }

  function contributionRow(s, c) {
    const step = steps[s];
    const y = names[step.node];
    const x = names[c.child];
    const mine = received[c.child];
    const k = mine.findIndex((r) => r.step === s && r.c === c);
    const final = k === mine.length - 1;
    const terms = mine.slice(0, k + 1).map((r) => r.c.contribution);
    return el("tr", {
      className: "contribution",
      "data-child": T.ids[c.child], "data-position": String(c.position),
      "data-local": String(c.local), "data-contribution": String(c.contribution),
      "data-total": String(c.total),
    },
    el("td", { className: "name", "data-ref": T.ids[c.child] }, x),
    el("td", { className: "math" }, fmt(c.local)),
    el("td", { className: "math" },
      fmt(step.upstream) + " \u00d7 " + factor(c.local) + " = " + fmt(c.contribution)),
    el("td", { className: "math" }, sumText(terms, c.total),
      el("span", { className: final ? "badge final" : "badge" },
        final ? "final" : (k + 1) + " of " + mine.length)));
  }

  function renderPanel(s) {
    const step = steps[s];
    const i = step.node;
    const y = names[i];
    panel.dataset.step = String(s);
    panel.dataset.node = T.ids[i];
    panel.dataset.upstream = String(step.upstream);
    panel.replaceChildren();
    panel.append(el("div", { className: "about" },
      el("p", { className: "stepline" }, "Step " + (s + 1) + " of " + count),
      el("h2", { id: "node-formula" }, formula(i)),
      el("p", { className: "data" }, "forward pass: " + y + " = " + fmt(T.nodes[i].data)),
      upstreamBlock(s)));

    const send = el("section", { className: "send" });
    send.append(el("h3", {}, "2. Chain rule: pass it to the operands"));
    if (step.contributions.length === 0) {
      send.append(el("p", { className: "why" }, y + " is a leaf: nothing flows further. " +
        "backward() adds " + d(rootName, y) + " = " + fmt(step.upstream) + " to " + y + ".grad."));
    } else {
      send.append(el("p", { className: "math rule" },
        d(rootName, "x") + " += " + d(rootName, y) + " \u00d7 " + d(y, "x") +
        "   for each operand x"));
      const table = el("table", { id: "contributions" },
        el("thead", {}, el("tr", {},
          el("th", {}, "operand x"), el("th", {}, "local " + d(y, "x")),
          el("th", {}, d(rootName, y) + " \u00d7 local"),
          el("th", {}, "total " + d(rootName, "x")))));
      const body = el("tbody", {});
      for (const c of step.contributions) body.append(contributionRow(s, c));
      table.append(body);
      send.append(table);
      send.append(el("p", { className: "why" }, "Local derivatives were stored in the " +
        "forward pass; backward only multiplies and adds. backward() also adds " +
        d(rootName, y) + " to " + y + ".grad."));
    }
    panel.append(send);
  }

  // Pointing at a name in the panel outlines its node in the graph.
  let peeked = null;
  function peek(event, on) {
    const ref = event.target.closest("[data-ref]");
    peeked?.classList.remove("peek");
    peeked = on && ref ? groups.get(ref.dataset.ref) || null : null;
    peeked?.classList.add("peek");
  }
  panel.addEventListener("mouseover", (e) => peek(e, true));
  panel.addEventListener("mouseout", (e) => peek(e, false));

  // ---- controls -------------------------------------------------------------------------
  const slider = document.getElementById("slider");
  const playButton = document.getElementById("play");
  let current = 0;
  let timer = null;

  function go(s) {
    current = Math.max(0, Math.min(count - 1, s));
    slider.value = String(current);
    document.getElementById("step-index").textContent = String(current + 1);
    renderPanel(current);
    paintGraph(current);
  }
  function pause() {
    if (timer !== null) clearInterval(timer);
    timer = null;
    playButton.textContent = "Play";
    playButton.dataset.playing = "false";
  }
  function play() {
    if (current >= count - 1) go(0);
    playButton.textContent = "Pause";
    playButton.dataset.playing = "true";
    timer = setInterval(() => {
      if (current >= count - 1) pause();
      else go(current + 1);
    }, 1100);
  }
  function toggle() {
    if (timer === null) play(); else pause();
  }

  slider.max = String(count - 1);
  document.getElementById("step-count").textContent = String(count);
  document.getElementById("prev").addEventListener("click", () => { pause(); go(current - 1); });
  document.getElementById("next").addEventListener("click", () => { pause(); go(current + 1); });
  playButton.addEventListener("click", toggle);
  document.getElementById("zoom-in").addEventListener("click", () => setZoom(zoom * 1.25));
  document.getElementById("zoom-out").addEventListener("click", () => setZoom(zoom / 1.25));
  document.getElementById("fit").addEventListener("click", () => setZoom(fitZoom()));
  slider.addEventListener("input", () => { pause(); go(Number(slider.value)); });
  document.addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.altKey || e.metaKey) return;
    const moves = { ArrowLeft: () => go(current - 1), ArrowRight: () => go(current + 1),
      Home: () => go(0), End: () => go(count - 1) };
    if (e.key in moves) {
      // Our own handling only: a focused slider would otherwise move a second time.
      e.preventDefault();
      pause();
      moves[e.key]();
    } else if (e.key === " ") {
      e.preventDefault();
      toggle();
    }
  });

  // A focused button would also "click" on Space's keyup; Space means play everywhere here.
  document.addEventListener("keyup", (e) => { if (e.key === " ") e.preventDefault(); });

  // Open with the whole graph in view: enlarged up to 150% when small, shrunk when it does not
  // fit (the neuron at 1280x800). A graph that would need unreadably small text (an MLP's 400
  // Values) opens at full size instead, and the pane follows the step.
  const fit = fitZoom();
  setZoom(fit >= LEGIBLE ? Math.min(1.5, fit) : READABLE);
  go(0);
})();
