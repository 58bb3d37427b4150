// 人员进场 form: the cascading selects unit → team → job, filled from the roster options API so
// a manager job can only be picked in the manager team of a unit whose type offers it.
(function () {
  "use strict";
  var form = document.getElementById("enter-form");
  if (!form) return;
  var unitSelect = form.querySelector('[data-role="unit"]');
  var teamSelect = form.querySelector('[data-role="team"]');
  var jobSelect = form.querySelector('[data-role="job"]');
  var units = [];

  function options(select, placeholder, items) {
    select.innerHTML = "";
    var first = document.createElement("option");
    first.value = "";
    first.textContent = placeholder;
    select.appendChild(first);
    items.forEach(function (item) {
      var option = document.createElement("option");
      option.value = item.value;
      option.textContent = item.text;
      select.appendChild(option);
    });
  }

  function chosen(list, id) {
    for (var i = 0; i < list.length; i++) if (list[i].id === id) return list[i];
    return null;
  }

  function fillTeams() {
    var unit = chosen(units, unitSelect.value);
    var teams = unit ? unit.teams : [];
    options(teamSelect, unit ? (teams.length ? "— 请选择班组 —" : "该单位暂无进场班组") : "— 请先选择企业 —",
      teams.map(function (t) { return {value: t.id, text: t.name + "（" + t.kind + "）"}; }));
    fillJobs();
  }

  function fillJobs() {
    var unit = chosen(units, unitSelect.value);
    var team = unit ? chosen(unit.teams, teamSelect.value) : null;
    options(jobSelect, team ? "— 请选择工种/岗位 —" : "— 请先选择班组 —",
      (team ? team.jobs : []).map(function (j) { return {value: j, text: j}; }));
  }

  // 可批量选择要进场的人员: search the person library and add people to the worker-number box.
  var numbers = form.querySelector('[name="worker_nos"]');
  var query = document.getElementById("person-query");
  var choices = document.getElementById("person-choices");

  function addNumber(n) {
    var current = numbers.value.split(/[\s,，;；、]+/).filter(function (v) { return v; });
    if (current.indexOf(String(n)) < 0) current.push(String(n));
    numbers.value = current.join(", ");
  }

  function cell(row, text) {
    var td = document.createElement("td");
    td.textContent = text;
    row.appendChild(td);
    return td;
  }

  function showPeople(people) {
    var body = choices.querySelector("tbody");
    body.innerHTML = "";
    if (!people.length) {
      var empty = document.createElement("tr");
      cell(empty, "没有符合条件的人员").colSpan = 5;
      body.appendChild(empty);
    }
    people.forEach(function (p) {
      var row = document.createElement("tr");
      [p.worker_no, p.name, p.id_number, p.sex].forEach(function (v) { cell(row, v); });
      var button = document.createElement("button");
      button.type = "button";
      button.className = "link";
      button.textContent = "选择";
      button.addEventListener("click", function () { addNumber(p.worker_no); });
      cell(row, "").appendChild(button);
      body.appendChild(row);
    });
    choices.hidden = false;
  }

  function searchPeople() {
    var request = new XMLHttpRequest();
    request.open("GET", "/api/people?per_page=20&q=" + encodeURIComponent(query.value.trim()));
    request.setRequestHeader("Accept", "application/json");
    request.onload = function () {
      var data = {};
      try { data = JSON.parse(request.responseText); } catch (e) { data = {}; }
      showPeople(request.status === 200 ? (data.people || []) : []);
    };
    request.send(null);
  }

  if (query) {
    document.getElementById("person-search").addEventListener("click", searchPeople);
    query.addEventListener("keydown", function (e) { if (e.key === "Enter") { e.preventDefault(); searchPeople(); } });
  }

  unitSelect.addEventListener("change", fillTeams);
  teamSelect.addEventListener("change", fillJobs);

  var xhr = new XMLHttpRequest();
  xhr.open("GET", form.getAttribute("data-options"));
  xhr.setRequestHeader("Accept", "application/json");
  xhr.onload = function () {
    if (xhr.status !== 200) return;
    try { units = JSON.parse(xhr.responseText).units || []; } catch (e) { units = []; }
    fillTeams();
    form.setAttribute("data-options-loaded", "true");
  };
  xhr.send(null);
})();
