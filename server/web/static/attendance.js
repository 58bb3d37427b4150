// 项目考勤: clicking a person, a cell or a day in the monthly grid loads that punch detail
// (考勤明细) from the API; thumbnails only when the grid says the account may see photos
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
  var exportLink = document.getElementById("detail-export");

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

  function query() {
    var params = new URLSearchParams();
    params.set("from", form.elements.from.value);
    params.set("to", form.elements.to.value || form.elements.from.value);
    if (form.elements.worker_no.value.trim()) params.set("worker_no", form.elements.worker_no.value.trim());
    return params.toString();
  }

  function show(data) {
    rows.innerHTML = "";
    summary.textContent = "共 " + data.count + " 条" + (data.truncated ? "（仅显示前 " + data.count + " 条，请导出查看全部）" : "");
    data.punches.forEach(function (p) {
      var tr = document.createElement("tr");
      cell(tr, p.name); cell(tr, p.worker_no); cell(tr, p.date); cell(tr, when(p.device_time));
      cell(tr, when(p.received_at)); cell(tr, p.vendor_code + " / " + p.device_id); cell(tr, p.mode_name);
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
      rows.appendChild(tr);
    });
    if (!data.punches.length) {
      var tr = document.createElement("tr");
      cell(tr, "该时段暂无考勤记录").colSpan = photos ? 9 : 8;
      rows.appendChild(tr);
    }
  }

  function load() {
    var q = query();
    exportLink.href = "/api/projects/" + project + "/attendance/punches/export?" + q;
    error.textContent = "";
    var xhr = new XMLHttpRequest();
    xhr.open("GET", "/api/projects/" + project + "/attendance/punches?" + q);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.onload = function () {
      var data = {};
      try { data = JSON.parse(xhr.responseText); } catch (e) { data = {message: "服务器返回了无法识别的内容"}; }
      if (xhr.status !== 200) { error.textContent = data.message || "查询失败"; return; }
      show(data);
    };
    xhr.onerror = function () { error.textContent = "网络错误，请检查连接后重试"; };
    xhr.send();
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
