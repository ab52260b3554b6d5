// The studio's router: #/ the projects, #/new a new project, #/p/<id> one project.
import { h } from "./dom.js";
import { showProjects } from "./list.js";
import { showNewProject } from "./new.js";
import { showProject } from "./project.js";

const view = document.getElementById("view");
let leave = null; // the current view's cleanup (stops its polling)

async function route() {
  if (leave) leave();
  leave = null;
  view.replaceChildren();
  const hash = location.hash || "#/";
  const project = hash.match(/^#\/p\/([^/?]+)$/);
  try {
    if (hash === "#/new") leave = await showNewProject(view);
    else if (project) leave = await showProject(view, decodeURIComponent(project[1]));
    else leave = await showProjects(view);
  } catch (error) {
    view.replaceChildren(h("p", { class: "error", role: "alert" }, error.message));
  }
}

window.addEventListener("hashchange", route);
route();
