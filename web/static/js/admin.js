// Helpers shared by the administration pages (系统管理): table cells, buttons, and the status
// and error lines (an error shows the server's message and each field's reason).
export function cell(text) {
  const td = document.createElement("td");
  td.textContent = text ?? "";
  return td;
}

export function button(text, onClick, className = "small") {
  const b = document.createElement("button");
  b.type = "button";
  b.className = className;
  b.textContent = text;
  b.addEventListener("click", onClick);
  return b;
}

export function emptyRow(columns, text) {
  const tr = document.createElement("tr");
  const td = cell(text);
  td.colSpan = columns;
  tr.append(td);
  return tr;
}

export class Status {
  constructor(messageId, errorId) {
    this.message = document.getElementById(messageId);
    this.error = document.getElementById(errorId);
  }

  clear() {
    if (this.message) this.message.hidden = true;
    this.error.hidden = true;
  }

  ok(text) {
    this.clear();
    this.message.textContent = text;
    this.message.hidden = false;
  }

  fail(err) {
    this.clear();
    const fields = Object.entries(err.fields ?? {}).map(([name, reason]) => `${name}：${reason}`);
    this.error.textContent = [err.message, ...fields].join("\n");
    this.error.style.whiteSpace = "pre-line";
    this.error.hidden = false;
  }
}

// Run `action`; report its result (a string) or its error on `status`.
export async function attempt(status, action) {
  try {
    const text = await action();
    if (typeof text === "string" && status.message) status.ok(text);
    else status.clear();
    return true;
  } catch (err) {
    status.fail(err);
    return false;
  }
}
