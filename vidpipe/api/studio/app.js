// The studio's router: #/ the projects, #/new a new project, #/p/<id> one project.
import { h } from "./dom.js";
import { showProjects } from "./list.js";
import { showNewProject } from "./new.js";
import { showProject } from "./project.js";

const view = document.getElementById("view");
let leave = null; // the current view's cleanup (stops its polling)
let shown = 0; // which navigation the view belongs to: a view that a newer one replaced stops

async function route() {
  if (leave) leave();
  leave = null;
  const mine = ++shown;
  view.replaceChildren();
  delete view.dataset.ready;
  const hash = location.hash || "#/";
  const project = hash.match(/^#\/p\/([^/?]+)$/);
  try {
    let cleanup;
    if (hash === "#/new") cleanup = await showNewProject(view);
    else if (project) cleanup = await showProject(view, decodeURIComponent(project[1]));
    else cleanup = await showProjects(view);
    if (mine === shown) leave = cleanup;
    else if (cleanup) cleanup();
  } catch (error) {
    if (mine === shown) {
      view.replaceChildren(h("p", { class: "error", role: "alert" }, error.message));
    }
  }
}

window.addEventListener("hashchange", route);
route();
