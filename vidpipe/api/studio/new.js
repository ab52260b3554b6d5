// A new project: the prompt and every option of `generate`, from the API's Generate schema.
import { api, openapi } from "./api.js";
import { h } from "./dom.js";
import { describe, field, showErrors } from "./fields.js";

// options the form shows otherwise: per-stage providers instead of one `provider`; the
// go-ahead for paid work is asked for on the project page, after the estimate
const LEFT_OUT = new Set(["provider", "providers", "yes"]);
const BUILD_OPTIONS = ["until", "budget"]; // how to build, after what to make

function ordered(properties) {
  const names = Object.keys(properties);
  return [...names.filter((n) => !BUILD_OPTIONS.includes(n)), ...BUILD_OPTIONS]
    .filter((n) => n in properties);
}

export async function showNewProject(view) {
  const doc = await openapi();
  const schema = doc.components.schemas.Generate;
  const fields = [];
  for (const name of ordered(schema.properties)) {
    const property = schema.properties[name];
    if (LEFT_OUT.has(name)) continue;
    const spec = describe(doc, property);
    if (name === "provider_options") {
      fields.push({ ...field(`f-${name}`, name, { ...spec, default: "" }, { long: true }),
                    json: true });
      continue;
    }
    fields.push(field(`f-${name}`, name, spec, { long: name === "prompt" }));
    if (name === "prompt") {
      const providers = describe(doc, schema.properties.providers);
      for (const [stage, stageSpec] of Object.entries(providers.properties)) {
        const one = field(`f-provider-${stage}`, `providers.${stage}`, stageSpec);
        one.label.textContent = `${stage[0].toUpperCase()}${stage.slice(1)} provider`;
        fields.push({ ...one, stage });
      }
    }
  }
  const prompt = fields.find((f) => f.name === "prompt");
  prompt.control.required = true;
  const other = h("p", { class: "error", role: "alert", id: "form-error", hidden: true });
  const submit = h("button", { type: "submit" }, "Make the video");
  const form = h("form", { class: "settings", id: "new-project", novalidate: true },
    fields.map((f) => [f.label, f.cell]), h("span"), h("div", {}, submit, other));
  view.append(h("h1", {}, "New project"),
    h("p", { class: "muted" }, "Every option of vidpipe generate, with its default. A paid " +
      "provider shows its estimate on the project page and waits for your go-ahead."), form);
  prompt.control.focus();
  view.dataset.ready = "1";

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { providers: {} };
    for (const f of fields) {
      const value = f.read();
      if (value === undefined || (f.json && value === "")) continue;
      if (f.stage) body.providers[f.stage] = value;
      else if (f.json) {
        try {
          body[f.name] = JSON.parse(value);
        } catch {
          showErrors(fields, [`${f.name}: not valid JSON, e.g. {"google": {}}`], other, "");
          return;
        }
      } else body[f.name] = value;
    }
    submit.disabled = true;
    try {
      const made = await api("POST", "/api/generate", body);
      location.hash = `#/p/${made.id}`;
    } catch (error) {
      showErrors(fields, error.details, other, error.message);
      submit.disabled = false;
    }
  });
  return null;
}
