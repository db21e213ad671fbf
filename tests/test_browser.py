"""The explorer page in real headless Chromium: what it highlights and shows equals the recorder.

Needs Debian's chromium at /usr/bin/chromium (or CHAINRULE_CHROMIUM); without it these tests skip
(CI checks it is there). If the browser is there but cannot start, they fail: a page nobody has
seen working is not tested.
"""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
pytest.importorskip("graphviz")

from autograd import Value  # noqa: E402
from autograd.explorer import explore, fmt, node_labels  # noqa: E402
from autograd.trace import trace_backward  # noqa: E402

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("CHAINRULE_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
REPO = Path(__file__).resolve().parent.parent


def neuron():
    """The classic 2-input neuron, o = tanh(x1 w1 + x2 w2 + b), with o fed to a square loss."""
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    o = (x1 * w1 + x2 * w2 + b).tanh()
    o.label = "o"
    loss = (o - 1.0) * (o - 1.0) + o  # o - 1.0 built twice; o is used three times
    loss.label = "L"
    return loss


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM}: install it (apt-get install chromium) "
                    "or set CHAINRULE_CHROMIUM to the browser's path")
    profile = tempfile.mkdtemp(prefix="chainrule-chromium-")
    with sync_api.sync_playwright() as p:
        try:
            context = p.chromium.launch_persistent_context(
                profile, executable_path=CHROMIUM, args=ARGS, headless=True,
                viewport={"width": 1400, "height": 820})
        except Exception as error:  # Playwright raises its own Error; say plainly what broke
            pytest.fail(f"headless Chromium ({CHROMIUM}) did not start: {error}")
        yield context
        context.close()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def page_of(browser, tmp_path):
    opened = []

    def open_page(root, viewport=None):
        path = explore(root, tmp_path / "explorer.html")
        page = browser.new_page()
        if viewport is not None:
            page.set_viewport_size(viewport)
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        page.on("request", lambda r: r.url.startswith("file://") or errors.append(r.url))
        page.goto(path.resolve().as_uri())
        opened.append((page, errors))
        return page

    yield open_page
    for page, errors in opened:
        assert errors == [], f"the page logged errors or fetched something: {errors}"
        page.close()


def shown(page):
    """What the page shows: current step, highlighted DOT ids, active edges, panel numbers."""
    return page.evaluate("""() => ({
      step: Number(document.getElementById('step-index').textContent) - 1,
      slider: Number(document.getElementById('slider').value),
      current: [...document.querySelectorAll('#graph g.node.current > title')]
                 .map(t => t.textContent).sort(),
      edges: [...document.querySelectorAll('#graph g.edge.active')].map(g => g.id).sort(),
      node: document.getElementById('panel').dataset.node,
      upstream: Number(document.getElementById('panel').dataset.upstream),
      rows: [...document.querySelectorAll('#panel tr.contribution')].map(r => [
        r.dataset.child, Number(r.dataset.position), Number(r.dataset.local),
        Number(r.dataset.contribution), Number(r.dataset.total)]),
      upstreamText: document.querySelector('#panel .upstream .math').textContent,
    })""")


def move_slider(page, s):
    page.eval_on_selector("#slider", "(el, s) => { el.value = String(s); "
                          "el.dispatchEvent(new Event('input')); }", s)


def expected(trace, s):
    ids = {v: f"v{i}" for i, v in enumerate(trace.order)}
    step = trace.steps[s]
    node = ids[step.node]
    return {
        "step": s, "slider": s,
        "current": sorted([node, node + "op"] if step.node.children else [node]),
        "edges": sorted(f"e_{ids[c.child]}_{node}_{c.position}" for c in step.contributions),
        "node": node,
        "upstream": step.upstream,
        "rows": [[ids[c.child], c.position, c.local, c.contribution, c.total]
                 for c in step.contributions],
    }


def assert_shows(page, trace, s):
    got = shown(page)
    got.pop("upstreamText")
    assert got == expected(trace, s)


def test_buttons_and_keys_step_through_the_recorders_sweep(page_of):
    loss = neuron()
    trace = trace_backward(loss)
    page = page_of(loss)
    assert_shows(page, trace, 0)
    for s in range(1, 5):
        page.click("#next")
        assert_shows(page, trace, s)
    page.click("#prev")
    assert_shows(page, trace, 3)
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert_shows(page, trace, 5)
    page.keyboard.press("ArrowLeft")
    assert_shows(page, trace, 4)
    page.keyboard.press("End")
    assert_shows(page, trace, len(trace.steps) - 1)
    page.keyboard.press("ArrowRight")  # stays on the last step
    assert_shows(page, trace, len(trace.steps) - 1)
    page.keyboard.press("Home")
    assert_shows(page, trace, 0)
    move_slider(page, 6)
    assert_shows(page, trace, 6)


def test_space_plays_and_pauses(page_of):
    loss = neuron()
    trace = trace_backward(loss)
    page = page_of(loss)
    page.click("#next")  # focus on a button: Space must still mean play, not click it
    page.keyboard.press("Space")
    assert page.get_attribute("#play", "data-playing") == "true"
    page.wait_for_function("() => document.getElementById('step-index').textContent === '3'",
                           timeout=5000)
    page.keyboard.press("Space")
    assert page.get_attribute("#play", "data-playing") == "false"
    assert_shows(page, trace, 2)


def test_reused_node_shows_its_total_as_the_sum_of_its_contributions(page_of):
    loss = neuron()
    trace = trace_backward(loss)
    o = next(v for v in trace.order if v.label == "o")
    s = [step.node for step in trace.steps].index(o)
    terms = [c.contribution for c in trace.received(o)]
    assert len(terms) == 3
    page = page_of(loss)
    for _ in range(s):
        page.keyboard.press("ArrowRight")
    assert_shows(page, trace, s)
    parts = [fmt(terms[0])] + [f"({fmt(t)})" if t < 0 else fmt(t) for t in terms[1:]]
    total = trace.totals()[o]
    assert shown(page)["upstreamText"] == f"dL/do = {' + '.join(parts)} = {fmt(total)}"


def highlight_fill(page):
    """The fill the browser paints on the current node's record (CSS over Graphviz's colour)."""
    return page.evaluate("""() => {
      const id = document.getElementById('panel').dataset.node;
      const title = [...document.querySelectorAll('#graph g.node > title')]
        .find(t => t.textContent === id);
      return getComputedStyle(title.parentNode.querySelector('path')).fill;
    }""")


def test_small_mlp_loss_steps_and_highlights_nodes_inside_clusters(page_of):
    nn = pytest.importorskip("nn")
    model = nn.MLP(2, [4, 4, 1], seed=0)
    loss = nn.mse_loss([model([0.5, -1.0])], [[1.0]])
    trace = trace_backward(loss)
    page = page_of(loss)
    amber = "rgb(255, 224, 130)"
    assert highlight_fill(page) == amber
    # A parameter drawn inside its neuron's box, wrapped by Graphviz in a tooltip link.
    s = next(i for i, step in enumerate(trace.steps) if step.node.label == "layers.0.neurons.0.b")
    move_slider(page, s)
    assert_shows(page, trace, s)
    assert highlight_fill(page) == amber
    page.keyboard.press("End")
    assert_shows(page, trace, len(trace.steps) - 1)


def test_a_screenshot_shows_the_step_where_o_sums_its_three_uses(page_of, tmp_path):
    loss = neuron()
    trace = trace_backward(loss)
    names = node_labels(trace)
    page = page_of(loss)
    # The step where o, used three times, sums what it received and passes it on to tanh.
    s = next(i for i, step in enumerate(trace.steps) if names[step.node] == "o")
    move_slider(page, s)
    assert_shows(page, trace, s)
    shot = tmp_path / "explorer.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000
    # The README's screenshot is the neuron's at 1280x800, taken by the test below.



def named(value, label):
    value.label = label
    return value


@pytest.mark.parametrize(("build", "formula"), [
    # The chain demo's cost, C = (a3 - y)**2: its operand is labelled with an expression.
    (lambda a, b, c: named(a - b, "a3 - y") ** 2, "C = (a3 - y)**2"),
    (lambda a, b, c: named(a + b, "a + b") * c, "C = (a + b) * c"),
    (lambda a, b, c: a - named(b - c, "b - c"), "C = a - (b - c)"),
    (lambda a, b, c: named(a - b, "a - b") - c, "C = a - b - c"),
    (lambda a, b, c: a / named(b * c, "b*c"), "C = a / (b*c)"),
    (lambda a, b, c: named(a * b, "a*b") + c, "C = a*b + c"),
    (lambda a, b, c: named(a * b, "a*b") * named(b + c, "b + c"), "C = a*b * (b + c)"),
    (lambda a, b, c: -named(a + b, "a + b"), "C = \u2212(a + b)"),
    (lambda a, b, c: named(-a, "-a") ** 2, "C = (-a)**2"),
    (lambda a, b, c: a ** named(b + c, "b + c"), "C = a**(b + c)"),
    (lambda a, b, c: named(a ** 2, "a**2") ** 3, "C = (a**2)**3"),
    (lambda a, b, c: named(a + b, "a + b").tanh(), "C = tanh(a + b)"),
    (lambda a, b, c: (a + b) * c, "C = n3 * c"),  # unlabelled: its name, drawn on its box
])
def test_formula_brackets_operands_wherever_precedence_needs_them(page_of, build, formula):
    a, b, c = Value(0.5, label="a"), Value(1.5, label="b"), Value(2.0, label="c")
    cost = build(a, b, c)
    cost.label = "C"
    page = page_of(cost)
    assert page.inner_text("#node-formula") == formula


def boxes_in_view(page):
    """Return [(DOT id, inside the graph pane)] for every node drawn: is it wholly visible?"""
    return page.evaluate("""() => {
      const pane = document.getElementById('graph').getBoundingClientRect();
      return [...document.querySelectorAll('#graph g.node')].map(g => {
        const r = g.getBoundingClientRect();
        return [g.querySelector('title').textContent, r.left >= pane.left && r.right <= pane.right
                && r.top >= pane.top && r.bottom <= pane.bottom];
      });
    }""")


def test_the_neuron_page_opens_with_the_whole_graph_in_view_at_1280x800(page_of):
    from demos.neuron import build_neuron

    o, _ = build_neuron(seed=0)
    page = page_of(o, viewport={"width": 1280, "height": 800})
    shown_boxes = boxes_in_view(page)
    assert len(shown_boxes) == 15 and all(inside for _, inside in shown_boxes), shown_boxes
    zoom = int(page.inner_text("#zoom-level").rstrip("%"))
    assert 45 <= zoom < 100  # shrunk to fit, and still readable
    # The README's picture: the step where n, the weighted sum plus b, passes the gradient on.
    trace = trace_backward(o)
    s = next(i for i, step in enumerate(trace.steps) if step.node.label == "n")
    move_slider(page, s)
    assert_shows(page, trace, s)
    assert all(inside for _, inside in boxes_in_view(page))
    # Kept in out/ (gitignored) to look at; docs/explorer.png is refreshed from it by hand,
    # so running the tests never dirties the checkout.
    target = REPO / "out" / "explorer.png"
    target.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(target))
    assert target.stat().st_size > 10_000


def test_a_graph_too_big_to_read_fitted_opens_at_full_size(page_of):
    nn = pytest.importorskip("nn")
    model = nn.MLP(2, [16, 16, 1], seed=0)
    loss = nn.mse_loss([model([0.5, -1.0])], [[1.0]])
    page = page_of(loss, viewport={"width": 1280, "height": 800})
    assert page.inner_text("#zoom-level") == "100%"


def test_unlabelled_nodes_show_the_panels_names_on_their_boxes(page_of):
    loss = neuron()  # (o - 1.0) * (o - 1.0) + o: the products, constants and sums have no label
    trace = trace_backward(loss)
    names = node_labels(trace)
    ids = {v: f"v{i}" for i, v in enumerate(trace.order)}
    page = page_of(loss)
    drawn = page.evaluate("""() => Object.fromEntries(
      [...document.querySelectorAll('#graph g.node')].map(g => [
        g.querySelector('title').textContent,
        [...g.querySelectorAll('text')].map(t => t.textContent.trim())]))""")
    unlabelled = [v for v in trace.order if not v.label]
    assert len(unlabelled) >= 4
    for v in trace.order:
        assert names[v] in drawn[ids[v]], (names[v], drawn[ids[v]])
    # And the panel's formula for one of them uses the same names.
    s = next(i for i, step in enumerate(trace.steps) if not step.node.label and step.node.op)
    move_slider(page, s)
    node = trace.steps[s].node
    assert page.inner_text("#node-formula").startswith(names[node] + " = ")
    assert all(names[c] in page.inner_text("#node-formula") for c in node.children)


MEASURE_TEXT = """() => {
  // Each node's and cluster's shapes, and each of its texts as the browser laid it out.
  const found = [];
  for (const g of document.querySelectorAll('g.node, g.cluster')) {
    const shapes = [...g.querySelectorAll('path, polygon, ellipse')].map(s => s.getBBox());
    if (shapes.length === 0) continue;
    const box = {left: Math.min(...shapes.map(b => b.x)),
                 right: Math.max(...shapes.map(b => b.x + b.width))};
    const texts = [...g.querySelectorAll('text')].filter(t => t.textContent.trim()).map(t => {
      const b = t.getBBox();
      return {text: t.textContent, left: b.x, right: b.x + b.width, y: Number(t.getAttribute('y'))};
    }).sort((p, q) => p.left - q.left);
    found.push({id: g.querySelector('title').textContent, box, texts});
  }
  return found;
}"""


def text_overflows(page):
    """Return each text sticking out of its node's shape or into its neighbour's, with by how
    much (in SVG points)."""
    problems = []
    for node in page.evaluate(MEASURE_TEXT):
        box, texts = node["box"], node["texts"]
        for t in texts:
            out = max(box["left"] - t["left"], t["right"] - box["right"])
            if out > 0:
                problems.append((node["id"], t["text"], f"outside by {out:.1f}"))
        for before, after in zip(texts, texts[1:]):
            if before["y"] == after["y"] and before["right"] > after["left"]:
                problems.append((node["id"], f"{before['text']!r} over {after['text']!r}",
                                 f"by {before['right'] - after['left']:.1f}"))
    return problems, sum(len(node["texts"]) for node in page.evaluate(MEASURE_TEXT))


def renderer_path(name):
    from autograd.viz.renderer import _script_dirs

    folders = _script_dirs() if name == "graphviz-pure" else []
    return next((p for d in folders if (p := shutil.which(name, path=d))), shutil.which(name))


@pytest.mark.parametrize("name", ["graphviz-pure", "dot"])
def test_svg_text_fits_its_boxes_in_chromium_with_only_dejavu_fonts(browser, tmp_path, monkeypatch,
                                                                      name):
    """The SVG names a font; the browser draws whatever it has (DejaVu Sans here, wider than
    Arial): every text must still sit inside its record, oval or cluster box."""
    from autograd.viz import render
    from autograd.viz.renderer import ENV_VAR
    from demos.neuron import build_neuron
    from nn import MLP, mse_loss

    program = renderer_path(name)
    if program is None:
        pytest.skip(f"{name} is not installed")
    monkeypatch.setenv(ENV_VAR, program)
    o, _ = build_neuron(seed=0)
    o.backward()
    model = MLP(2, [3, 1], seed=0)
    loss = mse_loss([model([0.5, -1.0])], [[1.0]])
    loss.backward()
    pictures = [render(o, tmp_path / "neuron.svg", show_local_grads=True),
                render(loss, tmp_path / "mlp.svg", color_by_grad=True),
                render(loss, tmp_path / "mlp_collapsed.svg", collapse=True)]
    page = browser.new_page()
    try:
        for path in pictures:
            page.goto(path.resolve().as_uri())
            problems, count = text_overflows(page)
            assert count > 10 and problems == [], (path.name, problems)
        if name == "graphviz-pure":  # the README's picture of what graphviz-pure draws
            page.goto(pictures[0].resolve().as_uri())
            page.set_viewport_size({"width": 1760, "height": 240})
            target = REPO / "out" / "neuron_graphviz_pure_svg.png"
            target.parent.mkdir(exist_ok=True)
            page.screenshot(path=str(target))
    finally:
        page.close()
