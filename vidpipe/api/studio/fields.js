// Form fields made from the API's own JSON schemas (the OpenAPI document), so the page shows
// the server's choices, limits and defaults instead of a copy of them.
import { h } from "./dom.js";

export function resolve(doc, schema) {
  if (schema && schema.$ref) return doc.components.schemas[schema.$ref.split("/").pop()];
  return schema;
}

// {type, enum, nullable, ...} of a property, with `anyOf: [X, null]` unwrapped
export function describe(doc, schema) {
  schema = resolve(doc, schema);
  const options = (schema.anyOf || []).map((s) => resolve(doc, s));
  const real = options.find((s) => s.type !== "null");
  const nullable = options.some((s) => s.type === "null");
  return { ...schema, ...(real || {}), nullable, default: schema.default };
}

function label(name) {
  return name.replaceAll("_", " ").replace(/^./, (c) => c.toUpperCase());
}

function limits(spec) {
  const parts = [];
  if (spec.minimum !== undefined) parts.push(`from ${spec.minimum}`);
  if (spec.exclusiveMinimum !== undefined) parts.push(`over ${spec.exclusiveMinimum}`);
  if (spec.maximum !== undefined) parts.push(`up to ${spec.maximum}`);
  if (spec.maxLength !== undefined) parts.push(`at most ${spec.maxLength} characters`);
  return parts.join(", ");
}

// One labelled control for the property `name`; `read()` gives its JSON value (undefined:
// leave it out), `error` is where the server's complaint about it goes.
export function field(id, name, spec, { long = false, value } = {}) {
  const start = value !== undefined ? value : spec.default;
  let control;
  const choices = spec.enum || (spec.const !== undefined ? [spec.const] : null) || spec.examples;
  if (spec.type === "boolean") {
    control = h("input", { id, name, type: "checkbox", checked: Boolean(start) });
  } else if (choices && (spec.enum || spec.const !== undefined || spec.examples)) {
    const values = spec.nullable ? ["", ...choices] : choices;
    control = h("select", { id, name }, values.map((choice) =>
      h("option", { value: String(choice), selected: String(choice) === String(start ?? "") },
        choice === "" ? "(none)" : String(choice))));
  } else if (spec.type === "number" || spec.type === "integer") {
    control = h("input", { id, name, type: "number", inputmode: "decimal",
      step: spec.type === "integer" ? "1" : "any", value: start ?? "" });
  } else if (long) {
    control = h("textarea", { id, name }, start ?? "");
  } else {
    control = h("input", { id, name, type: "text", value: start ?? "" });
  }
  const error = h("p", { class: "error", id: `${id}-error`, role: "alert", hidden: true });
  control.setAttribute("aria-describedby", `${id}-hint ${id}-error`);
  const shown = start === undefined || start === null || start === "" ? "" : `default ${start}`;
  const hint = h("span", { class: "hint", id: `${id}-hint` },
    [spec.description, shown, limits(spec)].filter(Boolean).join("; "));
  function read() {
    if (spec.type === "boolean") return control.checked;
    const text = control.value.trim();
    if (text === "" && spec.keepEmpty) return "";
    if (text === "") return spec.nullable || spec.default === undefined ? undefined : spec.default;
    if (spec.type === "integer" || spec.type === "number") {
      const number = Number(text);
      return Number.isNaN(number) ? text : number; // not a number: the server says so
    }
    if (spec.const !== undefined || (spec.enum && typeof spec.enum[0] === "number")) {
      return Number(text);
    }
    return text;
  }
  return {
    name, control, error, read,
    label: h("label", { for: id }, label(name)),
    cell: h("div", { class: "field" }, control, hint, error),
  };
}

// Put the server's `details` ("name: problem" lines) next to their fields; the rest in `other`.
export function showErrors(fields, details, other, fallback) {
  for (const f of fields) { f.error.hidden = true; f.error.textContent = ""; }
  const left = [];
  for (const line of details.length ? details : [fallback]) {
    const where = line.split(":")[0].trim(); // e.g. "clip_duration", "scenes.1.duration"
    const target = fields.find((f) => where === f.name || where.endsWith(`.${f.name}`));
    if (target) {
      target.error.hidden = false;
      target.error.textContent = line.slice(line.indexOf(":") + 1).trim();
    } else left.push(line);
  }
  other.hidden = left.length === 0;
  other.textContent = left.join("; ");
}
