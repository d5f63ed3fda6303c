// Public progress query: case number + query code → stage, unit, due date, public timeline.
// No session and no CSRF token: the request is a JSON POST that carries no cookies.
const form = document.getElementById("query-form");
const error = document.getElementById("query-error");
const result = document.getElementById("query-result");

function show(data) {
  document.getElementById("r-number").textContent = data.number;
  document.getElementById("r-stage").textContent = data.stage;
  document.getElementById("r-unit").textContent = data.unit;
  document.getElementById("r-due").textContent = data.due ? `${data.due.label}：${data.due.date}` : "无";
  const list = document.getElementById("r-events");
  list.replaceChildren(
    ...data.events.map((e) => {
      const li = document.createElement("li");
      const time = document.createElement("time");
      time.textContent = e.date;
      li.append(time, ` ${e.label}`);
      return li;
    }),
  );
  result.hidden = false;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  error.hidden = true;
  result.hidden = true;
  const res = await fetch("/api/public/query", {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify({
      number: document.getElementById("q-number").value,
      query_code: document.getElementById("q-code").value,
    }),
    credentials: "omit",
  });
  const data = await res.json();
  if (res.ok) {
    show(data);
  } else {
    error.textContent = data?.error?.message ?? `查询失败（HTTP ${res.status}）`;
    error.hidden = false;
  }
});
