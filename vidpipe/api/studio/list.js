// The projects, newest first: thumbnail, title, status, scenes done/total, updated; a status
// filter; refreshed while builds run.
import { api, mediaUrl, openapi } from "./api.js";
import { h, stateBadge, when } from "./dom.js";

const PAGE = 200; // the API's largest page
const ACTIVE = new Set(["pending", "storyboard", "keyframes", "video_gen", "stitching"]);

async function allProjects(status) {
  const query = status ? `&status=${encodeURIComponent(status)}` : "";
  const first = await api("GET", `/api/projects?limit=${PAGE}${query}`);
  const rest = [];
  for (let offset = PAGE; offset < first.total; offset += PAGE) {
    rest.push(api("GET", `/api/projects?limit=${PAGE}&offset=${offset}${query}`));
  }
  return [first, ...(await Promise.all(rest))].flatMap((page) => page.projects);
}

// thumbnails load as their rows scroll into view (with a token each is a fetch of its own)
const unseen = new IntersectionObserver((entries) => {
  for (const entry of entries.filter((e) => e.isIntersecting)) {
    unseen.unobserve(entry.target);
    mediaUrl(entry.target.dataset.src).then((url) => { entry.target.src = url; });
  }
});

function thumbnail(project) {
  if (!project.thumbnail) return h("div", { class: "thumb", "aria-hidden": "true" });
  const img = h("img", { class: "thumb", alt: "", width: 96, height: 54,
                         "data-src": project.thumbnail });
  unseen.observe(img);
  return img;
}

function row(project) {
  return h("tr", { "data-id": project.id, "data-state": project.state },
    h("td", {}, thumbnail(project)),
    h("td", {}, h("a", { href: `#/p/${project.id}` }, project.title)),
    h("td", {}, stateBadge(project.state)),
    h("td", { class: "scenes-done" }, `${project.scenes_done}/${project.scenes_total}`),
    h("td", {}, when(project.updated)));
}

export async function showProjects(view) {
  const firstPage = allProjects(""); // asked for at once, beside the document
  const doc = await openapi();
  const states = doc.components.schemas.Status.properties.state.enum;
  const filter = h("select", { id: "status-filter" },
    h("option", { value: "" }, "all"), states.map((s) => h("option", { value: s }, s)));
  const count = h("span", { class: "muted", id: "project-count" });
  const body = h("tbody");
  view.append(
    h("h1", {}, "Projects"),
    h("div", { class: "toolbar" },
      h("a", { class: "button", href: "#/new" }, "New project"),
      h("label", { for: "status-filter" }, "Status"), filter, count),
    h("table", { class: "projects" },
      h("thead", {}, h("tr", {}, ["", "Title", "Status", "Scenes", "Updated"].map(
        (name) => h("th", { scope: "col" }, name)))),
      body));

  let timer = null;
  let stopped = false;
  let prefetched = firstPage;
  async function refresh() {
    clearTimeout(timer);
    const projects = await (prefetched || allProjects(filter.value));
    prefetched = null;
    if (stopped) return;
    body.replaceChildren(...projects.map(row));
    count.textContent = `${projects.length} project${projects.length === 1 ? "" : "s"}`;
    view.dataset.ready = "1";
    const building = projects.some((p) => ACTIVE.has(p.state));
    timer = setTimeout(() => refresh().catch(() => {}), building ? 2000 : 10000);
  }
  filter.addEventListener("change", () => refresh());
  await refresh();
  return () => { stopped = true; clearTimeout(timer); };
}
