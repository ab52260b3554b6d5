// One project: its scenes as cards (keyframe, clip preview on hover, duration, state), live
// progress from the events endpoint (long polling), the final cut, and what a user can do.
import { api, mediaUrl, openapi } from "./api.js";
import { dollars, h, stateBadge, when } from "./dom.js";
import { describe, field, showErrors } from "./fields.js";

const WAIT = 20; // seconds an events request waits for news
const NOT_CONFIRMED = 6; // the exit code of a build that waits for the go-ahead (README)

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => { clearTimeout(timer); resolve(); });
  });
}

function versioned(url, version) {
  return `${url}?v=${version}`;
}

export async function showProject(view, id) {
  const base = `/api/projects/${encodeURIComponent(id)}`;
  const doc = await openapi();
  const sceneSpecs = Object.entries(doc.components.schemas.SceneEdit.properties)
    .map(([name, schema]) => [name, describe(doc, schema)]);
  const stop = new AbortController();
  const build = { running: new Set(), made: [], failed: [], estimate: null, exit: null,
                  outcome: null, elapsed: 0, at: 0, message: null };
  let detail = null;
  let next = -1;
  let live = false; // a job is queued or running
  const cards = new Map(); // scene id -> its card, kept while its edit form is open

  const head = h("div");
  const progress = h("section", { class: "panel", id: "progress", "aria-live": "polite" });
  const actions = h("section", { class: "panel", id: "actions" });
  const final = h("section", { id: "final" });
  const grid = h("div", { class: "scenes", id: "scenes" });
  const problem = h("p", { class: "error", role: "alert", id: "action-error", hidden: true });
  view.append(head, progress, problem, actions, final, h("h2", {}, "Scenes"), grid);

  function fail(error) {
    problem.hidden = false;
    problem.textContent = error.message;
  }

  async function act(method, path, body) {
    problem.hidden = true;
    try {
      const answer = await api(method, path, body);
      if (answer && answer.job === "queued") live = true;
      await refresh();
      return answer;
    } catch (error) {
      fail(error);
      await refresh().catch(() => {});
      return null;
    }
  }

  // --- the header, the progress and the actions --------------------------------------------
  function renderHead() {
    head.replaceChildren(
      h("h1", {}, detail.title), h("p", {}, stateBadge(detail.state), " ",
        h("span", { class: "muted" }, `${detail.scenes_done}/${detail.scenes_total} scenes done` +
          ` · updated ${when(detail.updated)}`)),
      h("p", { class: "muted" }, detail.prompt),
      detail.error ? h("p", { class: "error", id: "project-error" },
        `${detail.step ? `${detail.step}: ` : ""}${detail.error}`) : "");
  }

  function renderProgress() {
    const running = [...build.running];
    const seconds = build.elapsed + (live && build.at ? (performance.now() - build.at) / 1000 : 0);
    const lines = [];
    if (live) {
      lines.push(h("p", { id: "running" }, running.length
        ? `Building: ${running.join(", ")}` : detail && detail.job === "queued"
          ? "Queued" : "Starting…"));
      if (build.total) lines.push(h("p", { id: "steps" }, `${build.done}/${build.total} steps done`));
      lines.push(h("p", { id: "elapsed" }, `elapsed ${seconds.toFixed(1)} s`));
    } else if (awaitingGoAhead()) {
      lines.push(h("p", { id: "outcome" }, "Waiting for your go-ahead: nothing was spent."));
    } else if (build.outcome || build.exit !== null) {
      lines.push(h("p", { id: "outcome" }, `Last build: ${build.outcome || `exit ${build.exit}`}` +
        ` after ${seconds.toFixed(1)} s`));
    }
    if (build.made.length || build.failed.length) {
      lines.push(h("p", { id: "last-build" }, build.made.length
        ? `Made in this build: ${build.made.join(", ")}` : "Nothing made in this build"));
    }
    for (const failure of build.failed) lines.push(h("p", { class: "error" }, failure));
    if (build.message && !live && !awaitingGoAhead()) lines.push(h("p", { class: "muted", id: "message" }, build.message));
    progress.hidden = lines.length === 0;
    progress.replaceChildren(...lines);
  }

  function renderActions() {
    const items = [];
    const allDone = detail.scenes.length > 0 &&
      detail.scenes.every((s) => s.clip.state === "done" && s.keyframe.state === "done");
    if (live) {
      items.push(h("button", { id: "cancel", onclick: () => act("POST", `${base}/cancel`) },
        "Cancel the build"));
    } else if (detail.state === "stopped") {
      items.push(h("div", { class: "notice", id: "stopped" },
        h("p", {}, "Stopped for review: check and edit the scenes, then approve the clips."),
        h("button", { id: "approve", onclick: () => act("POST", `${base}/resume`, {}) },
          "Approve: make the clips and the final cut")));
    } else if (awaitingGoAhead()) {
      items.push(estimatePanel());
    } else if (!(detail.state === "complete" && allDone && detail.final)) {
      items.push(h("button", { id: "resume", onclick: () => act("POST", `${base}/resume`, {}) },
        "Resume the build"));
    }
    if (!live && allDone) items.push(stitchControl());
    actions.hidden = items.length === 0;
    actions.replaceChildren(...items);
  }

  function awaitingGoAhead() {
    return !live && build.estimate !== null && build.exit === NOT_CONFIRMED;
  }

  // the estimate's charges summed per model: calls, images or seconds, and dollars
  function perModel(charges) {
    const rows = new Map();
    for (const c of charges) {
      const key = `${c.model} ${c.unit}`;
      const row = rows.get(key) || { model: c.model, unit: c.unit, units: 0, usd: 0 };
      row.units += c.units;
      row.usd += c.usd;
      rows.set(key, row);
    }
    return [...rows.values()];
  }

  function estimatePanel() {
    const budget = h("input", { id: "budget", type: "number", min: "0", step: "any",
      value: build.estimate.budget_usd ?? "" });
    return h("div", { class: "notice", id: "estimate" },
      h("h2", {}, `This build would spend about ${dollars(build.estimate.total_usd)}`),
      h("table", {}, h("tbody", {}, perModel(build.estimate.charges).map((c) => h("tr", {},
        h("td", {}, c.model), h("td", {}, `${c.units} ${c.unit}${c.units === 1 ? "" : "s"}`),
        h("td", {}, dollars(c.usd)))))),
      build.estimate.portraits_up_to_usd ? h("p", { id: "portraits-estimate" },
        `And up to ${dollars(build.estimate.portraits_up_to_usd)} for portraits: one for each ` +
        "character the storyboard names (it is not written yet).") : null,
      h("p", {}, "Nothing was spent. "),
      h("label", { for: "budget" }, "Budget in dollars (optional) "), budget, " ",
      h("button", { id: "go-ahead", onclick: () => {
        const body = { yes: true };
        if (budget.value.trim() !== "") body.budget = Number(budget.value);
        act("POST", `${base}/resume`, body);
      } }, "Go ahead and pay"));
  }

  function stitchControl() {
    const longest = Math.min(...detail.scenes.map((s) => s.duration)) / 2;
    const limit = doc.components.schemas.Generate.properties.crossfade.maximum;
    const slider = h("input", { id: "crossfade", type: "range", min: "0",
      max: String(Math.min(longest, limit)), step: "0.05", value: String(detail.settings.crossfade) });
    const shown = h("output", { for: "crossfade", id: "crossfade-value" }, `${slider.value} s`);
    slider.addEventListener("input", () => { shown.textContent = `${slider.value} s`; });
    return h("div", { id: "stitch" },
      h("label", { for: "crossfade" }, "Crossfade "), slider, " ", shown, " ",
      h("button", { class: "plain", id: "restitch", onclick: () =>
        act("POST", `${base}/stitch`, { crossfade: Number(slider.value) }) },
        "Re-stitch (regenerates nothing)"));
  }

  async function renderFinal() {
    // the API serves the final cut of a complete project only (not while it is remade)
    if (!detail.final || detail.state !== "complete") { final.replaceChildren(); return; }
    const url = versioned(detail.final, detail.updated);
    const src = await mediaUrl(url);
    const current = final.querySelector("video");
    if (current && current.dataset.url === url) return;
    final.replaceChildren(h("h2", {}, "The final cut"),
      h("video", { class: "final", controls: true, preload: "metadata", src, "data-url": url,
        "aria-label": "the final cut" }),
      h("p", {}, h("a", { class: "button", id: "download", href: src,
        download: `${detail.id}.mp4` }, "Download final.mp4")));
  }

  // --- the scene cards ---------------------------------------------------------------------
  function stateText(name, artifact) {
    const reason = artifact.reason ? ` (${artifact.reason})` : "";
    return h("span", { class: `artifact-${artifact.state}` }, `${name}: ${artifact.state}${reason}`);
  }

  function card(scene, index) {
    const building = [...build.running].filter((task) => task.startsWith(`scene:${scene.id}-`));
    const media = h("div", { class: "media", tabindex: scene.clip_version ? "0" : null,
      "aria-label": scene.clip_version ? `play the clip of ${scene.title}` : null });
    if (scene.keyframe_version) {
      const img = h("img", { alt: `keyframe of ${scene.title}`, loading: "lazy" });
      mediaUrl(versioned(scene.keyframe_url, scene.keyframe_version)).then((u) => { img.src = u; });
      media.append(img);
    }
    if (scene.clip_version) {
      const play = async () => {
        if (media.querySelector("video")) return;
        const src = await mediaUrl(versioned(scene.clip_url, scene.clip_version));
        media.append(h("video", { src, muted: true, loop: true, autoplay: true,
          playsInline: true, class: "preview" }));
      };
      const halt = () => media.querySelector("video")?.remove();
      media.addEventListener("mouseenter", play);
      media.addEventListener("focus", play);
      media.addEventListener("mouseleave", halt);
      media.addEventListener("blur", halt);
    }
    const failed = [scene.keyframe, scene.clip].filter((a) => a.state === "failed");
    const locked = live;
    const node = h("article", { class: `scene${building.length ? " building" : ""}`,
      "data-scene": scene.id, "data-keyframe": scene.keyframe.state, "data-clip": scene.clip.state },
      media,
      h("h3", {}, `${index + 1}. ${scene.title}`),
      h("p", { class: "muted" }, `${scene.duration} s · ${scene.id}`),
      h("p", { class: "states" }, stateText("keyframe", scene.keyframe), " · ",
        stateText("clip", scene.clip)),
      failed.map((a) => h("p", { class: "error" }, `failed: ${a.reason}`)),
      building.length ? h("p", { class: "badge" }, "building now") : null,
      h("p", { class: "caption" }, scene.caption || ""),
      h("div", { class: "actions" },
        h("button", { class: "plain edit", disabled: locked, onclick: () => edit(scene) }, "Edit"),
        h("button", { class: "plain up", disabled: locked || index === 0,
          "aria-label": `move ${scene.title} earlier`, onclick: () => move(index, -1) }, "↑"),
        h("button", { class: "plain down", disabled: locked || index === detail.scenes.length - 1,
          "aria-label": `move ${scene.title} later`, onclick: () => move(index, 1) }, "↓"),
        h("button", { class: "plain delete", disabled: locked || detail.scenes.length === 1,
          onclick: () => act("DELETE", `${base}/scenes/${scene.id}`) }, "Delete"),
        uploadButton(scene, locked)));
    if (!locked) dragToReorder(node, scene);
    return node;
  }

  // a card dropped on another takes that card's place (the buttons do the same by one step)
  function dragToReorder(node, scene) {
    node.draggable = true;
    node.addEventListener("dragstart", (event) => {
      event.dataTransfer.setData("text/plain", scene.id);
      event.dataTransfer.effectAllowed = "move";
    });
    node.addEventListener("dragover", (event) => event.preventDefault());
    node.addEventListener("drop", (event) => {
      event.preventDefault();
      const moved = event.dataTransfer.getData("text/plain");
      const order = detail.scenes.map((s) => s.id).filter((id) => id !== moved);
      if (moved === scene.id || !detail.scenes.some((s) => s.id === moved)) return;
      order.splice(detail.scenes.findIndex((s) => s.id === scene.id), 0, moved);
      act("PUT", `${base}/scene-order`, { scenes: order });
    });
  }

  function uploadButton(scene, locked) {
    const input = h("input", { type: "file", accept: "image/png,image/jpeg,image/webp",
      class: "upload", id: `upload-${scene.id}`, disabled: locked, hidden: true });
    input.addEventListener("change", async () => {
      const file = input.files[0];
      if (!file) return;
      problem.hidden = true;
      try {
        await api("PUT", `${base}/keyframes/${scene.id}.png`, undefined,
          { raw: file, type: file.type || "application/octet-stream" });
        live = true;
      } catch (error) {
        fail(error);
      }
      await refresh();
    });
    return h("span", {}, input, h("button", { class: "plain", disabled: locked,
      onclick: () => input.click() }, "Upload keyframe"));
  }

  function move(index, step) {
    const order = detail.scenes.map((s) => s.id);
    [order[index], order[index + step]] = [order[index + step], order[index]];
    act("PUT", `${base}/scene-order`, { scenes: order });
  }

  function edit(scene) {
    const fields = sceneFields(`edit-${scene.id}`, scene);
    const other = h("p", { class: "error", role: "alert", hidden: true });
    const form = h("form", { class: "edit-form", "data-scene": scene.id, novalidate: true },
      fields.map((f) => [f.label, f.cell]), other,
      h("div", { class: "actions" }, h("button", { type: "submit" }, "Save and rebuild"),
        h("button", { type: "button", class: "plain", onclick: () => {
          cards.delete(scene.id); renderScenes();
        } }, "Cancel")));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const changes = {};
      for (const f of fields) {
        const value = f.read();
        if (value !== undefined && value !== scene[f.name]) changes[f.name] = value;
      }
      try {
        const answer = await api("PATCH", `${base}/scenes/${scene.id}`, changes);
        if (answer.job === "queued") live = true;
        cards.delete(scene.id);
        await refresh();
      } catch (error) {
        showErrors(fields, error.details, other, error.message);
      }
    });
    const node = h("article", { class: "scene editing", "data-scene": scene.id },
      h("h3", {}, `Edit ${scene.title}`), form);
    cards.set(scene.id, node);
    renderScenes();
    fields[0].control.focus();
  }

  function sceneFields(prefix, scene) {
    return sceneSpecs.map(([name, spec]) => field(`${prefix}-${name}`, name,
      { ...spec, default: undefined, nullable: true, keepEmpty: spec.type === "string" },
      { long: ["description", "image_prompt", "video_prompt"].includes(name),
        value: scene ? scene[name] : undefined }));
  }

  function insertForm() {
    const fields = sceneFields("new-scene", null);
    const other = h("p", { class: "error", role: "alert", hidden: true });
    const form = h("form", { class: "insert-form", id: "insert-scene", novalidate: true },
      h("h3", {}, "Add a scene at the end"), fields.map((f) => [f.label, f.cell]), other,
      h("button", { type: "submit" }, "Add the scene"));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const body = { after: detail.scenes.length ? detail.scenes.at(-1).id : null };
      for (const f of fields) {
        const value = f.read();
        if (value !== undefined && value !== "") body[f.name] = value;
      }
      try {
        await api("POST", `${base}/scenes`, body);
        live = true;
        form.reset();
        await refresh();
      } catch (error) {
        showErrors(fields, error.details, other, error.message);
      }
    });
    return h("article", { class: "scene" }, form);
  }

  let inserter = null; // made once: a refresh must not wipe what is being typed
  function renderScenes() {
    const nodes = detail.scenes.map((scene, index) => cards.get(scene.id) || card(scene, index));
    if (detail.scenes.length) {
      inserter = inserter || insertForm();
      inserter.querySelector("button[type=submit]").disabled = live;
      nodes.push(inserter);
    }
    grid.replaceChildren(...nodes);
  }

  // --- loading and live updates ------------------------------------------------------------
  async function refresh() {
    detail = await api("GET", base);
    live = detail.job === "queued" || detail.job === "running";
    renderHead();
    renderProgress();
    renderActions();
    renderScenes();
    await renderFinal();
    view.dataset.state = detail.state;
    view.dataset.live = live ? "1" : "0";
  }

  function handle(event) {
    if (event.event === "project") {
      Object.assign(build, { running: new Set(), made: [], failed: [], estimate: null,
        exit: null, outcome: null, message: null });
    }
    if (event.elapsed !== undefined) {
      build.elapsed = event.elapsed;
      build.at = performance.now();
    }
    if (event.total) { build.total = event.total; build.done = event.done; }
    if (event.event === "start") build.running.add(event.task);
    if (["done", "failed", "blocked"].includes(event.event)) build.running.delete(event.task);
    if (event.event === "done") build.made.push(event.step);
    if (event.event === "failed") build.failed.push(`${event.step}: ${event.error}`);
    if (event.event === "estimate") build.estimate = event;
    if (event.event === "end") build.outcome = event.outcome;
    if (event.event === "error") build.message = event.text.split("\n").at(-1);
    if (event.event === "exit") { build.exit = event.exit_code; build.running.clear(); }
  }

  async function follow() {
    while (!stop.signal.aborted) {
      let batch;
      try {
        const wait = live ? WAIT : 0;
        batch = await api("GET", `${base}/events?after=${next}&wait=${wait}`, undefined,
          undefined, stop.signal); // leaving the page ends the wait at once
      } catch {
        await sleep(2000, stop.signal);
        continue;
      }
      if (stop.signal.aborted) return;
      next = batch.next;
      batch.events.forEach(handle);
      const ended = live && !batch.running;
      if (batch.events.length || ended) await refresh().catch(() => {});
      view.dataset.ready = "1";
      if (!batch.running) {
        live = false;
        renderProgress();
        renderActions();
        await sleep(1500, stop.signal);
      }
    }
  }

  await refresh();
  follow(); // marks the page ready once it has caught up with the events so far
  const ticker = setInterval(() => { if (live) renderProgress(); }, 500);
  return () => { stop.abort(); clearInterval(ticker); };
}
