// 项目考勤: clicking a person, a cell or a day in the monthly grid loads the 考勤明细 from the API —
// one row per person and day with the first and last punch (首次/末次打卡) and the count; 记录 opens
// that day's raw punches under the row. Thumbnails only when the grid says the account may see photos
// (each photo request is audited on the server). Data goes in with textContent, never as HTML.
(function () {
  "use strict";
  var grid = document.getElementById("attendance-grid");
  var form = document.getElementById("detail-form");
  if (!grid || !form) return;
  var project = grid.getAttribute("data-project");
  var photos = grid.getAttribute("data-photos") === "1";
  var rows = document.getElementById("detail-rows");
  var error = document.getElementById("detail-error");
  var summary = document.getElementById("detail-summary");
  var exports = [document.getElementById("detail-export"), document.getElementById("punches-export")];
  var punchTable = document.getElementById("punch-table");
  var COLUMNS = 7;

  function cell(tr, text) {
    var td = document.createElement("td");
    td.textContent = text === undefined || text === null ? "" : text;
    tr.appendChild(td);
    return td;
  }

  function when(iso) {
    // "2026-03-01T07:55:00+08:00" -> "2026-03-01 07:55:00" (the API speaks site time).
    return iso ? iso.replace("T", " ").slice(0, 19) : "";
  }

  function clock(iso) {
    return iso ? iso.slice(11, 19) : "";
  }

  function params(from, to, workerNo) {
    var p = new URLSearchParams();
    p.set("from", from);
    p.set("to", to || from);
    if (workerNo) p.set("worker_no", workerNo);
    return p.toString();
  }

  function query() {
    return params(form.elements.from.value, form.elements.to.value, form.elements.worker_no.value.trim());
  }

  function get(path, done) {
    error.textContent = "";
    var xhr = new XMLHttpRequest();
    xhr.open("GET", path);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.onload = function () {
      var data = {};
      try { data = JSON.parse(xhr.responseText); } catch (e) { data = {message: "服务器返回了无法识别的内容"}; }
      if (xhr.status !== 200) { error.textContent = data.message || "查询失败"; return; }
      done(data);
    };
    xhr.onerror = function () { error.textContent = "网络错误，请检查连接后重试"; };
    xhr.send();
  }

  function punchRows(tbody, punches) {
    punches.forEach(function (p) {
      var tr = document.createElement("tr");
      cell(tr, when(p.device_time)); cell(tr, when(p.received_at)); cell(tr, p.vendor_code + " / " + p.device_id);
      cell(tr, p.mode_name);
      cell(tr, (p.flag_names || []).join("、") + (p.resends ? "（重传 " + p.resends + " 次）" : ""));
      if (photos) {
        var td = cell(tr, "");
        if (p.has_photo) {
          var link = document.createElement("a");
          var url = "/api/punches/" + encodeURIComponent(p.id) + "/photo";
          link.href = url; link.target = "_blank"; link.rel = "noopener";
          var img = document.createElement("img");
          img.src = url; img.alt = "考勤照片"; img.loading = "lazy"; img.height = 48;
          link.appendChild(img);
          td.appendChild(link);
        }
      }
      tbody.appendChild(tr);
    });
  }

  function togglePunches(button, day) {
    var row = button.closest("tr");
    var open = row.nextElementSibling;
    if (open && open.classList.contains("punches")) {
      open.remove();
      button.setAttribute("aria-expanded", "false");
      return;
    }
    get("/api/projects/" + project + "/attendance/punches?" + params(day.date, day.date, day.worker_no), function (data) {
      var tr = document.createElement("tr");
      tr.className = "punches";
      var td = cell(tr, "");
      td.colSpan = COLUMNS;
      var table = punchTable.content.firstElementChild.cloneNode(true);
      punchRows(table.querySelector("tbody"), data.punches);
      td.appendChild(table);
      row.parentNode.insertBefore(tr, row.nextSibling);
      button.setAttribute("aria-expanded", "true");
    });
  }

  function show(data) {
    rows.innerHTML = "";
    summary.textContent = "共 " + data.count + " 人次" + (data.truncated ? "（仅显示前 " + data.count + " 行，请导出查看全部）" : "");
    data.days.forEach(function (d) {
      var tr = document.createElement("tr");
      cell(tr, d.name); cell(tr, d.worker_no); cell(tr, d.date); cell(tr, clock(d.first));
      cell(tr, d.count > 1 ? clock(d.last) : ""); cell(tr, d.count).className = "num";
      var button = document.createElement("button");
      button.type = "button"; button.className = "link"; button.textContent = "记录（" + d.count + " 条）";
      button.setAttribute("aria-expanded", "false");
      button.addEventListener("click", function () { togglePunches(button, d); });
      cell(tr, "").appendChild(button);
      rows.appendChild(tr);
    });
    if (!data.days.length) {
      var tr = document.createElement("tr");
      cell(tr, "该时段暂无考勤记录").colSpan = COLUMNS;
      rows.appendChild(tr);
    }
  }

  function load() {
    var q = query();
    exports.forEach(function (a) { a.href = a.getAttribute("data-path") + "?" + q; });
    get("/api/projects/" + project + "/attendance/days?" + q, show);
  }

  form.addEventListener("submit", function (e) { e.preventDefault(); load(); });
  grid.addEventListener("click", function (e) {
    var button = e.target.closest("button");
    if (!button) return;
    if (button.hasAttribute("data-detail-date")) {
      form.elements.from.value = form.elements.to.value = button.getAttribute("data-detail-date");
      form.elements.worker_no.value = "";
    } else if (button.hasAttribute("data-detail-worker")) {
      form.elements.from.value = button.getAttribute("data-from");
      form.elements.to.value = button.getAttribute("data-to");
      form.elements.worker_no.value = button.getAttribute("data-detail-worker");
    } else {
      return;
    }
    load();
    document.getElementById("punch-detail").scrollIntoView({behavior: "smooth"});
  });
})();
