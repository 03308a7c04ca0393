/* The report's only script: cell details on click, and the diff view of two profiles.
   Which cells differ comes precomputed from snaporacle (the same function as `profile diff`). */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("report-data").textContent);
  var cells = {};
  data.profiles.forEach(function (profile) {
    var byKey = {};
    profile.rows.forEach(function (row) {
      row.cells.forEach(function (cell) { byKey[cell.key] = cell; });
    });
    cells[profile.name] = byKey;
  });

  function verdict(cell) {
    if (cell.outcome === "accepted") {
      return "accepted: memory=" + cell.memory_result + " disk=" + cell.disk_result +
        " via " + cell.mechanism.join(" + ") + " (" + cell.state + ")";
    }
    return cell.outcome + (cell.error ? " " + cell.error : "") + ": " + cell.reason;
  }

  function facts(profile, cell) {
    return [
      ["profile", profile],
      ["outcome", cell.outcome],
      ["result modes", cell.outcome === "accepted" ?
        "memory=" + cell.memory_result + ", disk=" + cell.disk_result : "none (refused)"],
      ["mechanism", cell.mechanism.length ? cell.mechanism.join(" + ") : "none"],
      ["snapshot state", cell.state || "none"],
      ["error code", cell.error || "none"],
      ["error message", cell.reason || "none"],
      ["plan row", cell.row === null ? "none" : String(cell.row)]
    ];
  }

  var panel = document.getElementById("details");
  var selected = null;

  function showDetails(td) {
    var key = td.getAttribute("data-key");
    var names = [td.getAttribute("data-profile")];
    if (td.hasAttribute("data-other")) { names.push(td.getAttribute("data-other")); }
    if (!names[0] || !cells[names[0]]) { return; }
    var body = document.getElementById("details-body");
    body.textContent = "";
    document.getElementById("details-title").textContent = key;
    names.forEach(function (name) {
      facts(name, cells[name][key]).forEach(function (pair) {
        var dt = document.createElement("dt");
        var dd = document.createElement("dd");
        dt.textContent = pair[0];
        dd.textContent = pair[1];
        body.appendChild(dt);
        body.appendChild(dd);
      });
    });
    if (selected) { selected.classList.remove("selected"); }
    selected = td;
    td.classList.add("selected");
    panel.hidden = false;
  }

  document.addEventListener("click", function (event) {
    var td = event.target.closest ? event.target.closest("td.cell[data-profile]") : null;
    if (td) { showDetails(td); }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { panel.hidden = true; return; }
    if (event.key === "Enter" && event.target.matches && event.target.matches("td.cell[data-profile]")) {
      showDetails(event.target);
    }
  });
  document.getElementById("details-close").addEventListener("click", function () {
    panel.hidden = true;
  });

  var chooseA = document.getElementById("diff-a");
  var chooseB = document.getElementById("diff-b");

  function updateDiff() {
    var a = chooseA.value;
    var b = chooseB.value;
    var pair = data.pairs[a + "|" + b] || { cells: [], rows: [] };
    var differing = {};
    pair.cells.forEach(function (key) { differing[key] = true; });
    var tds = document.querySelectorAll("#diff-matrix td.diff-cell");
    Array.prototype.forEach.call(tds, function (td) {
      var key = td.getAttribute("data-key");
      var left = cells[a][key];
      var right = cells[b][key];
      var differs = differing[key] === true;
      td.textContent = differs ? left.label + " \u2192 " + right.label : left.label;
      td.classList.toggle("differs", differs);
      td.classList.toggle("same", !differs);
      td.setAttribute("data-profile", a);
      td.setAttribute("data-other", b);
      td.title = key + "\n" + a + ": " + verdict(left) + "\n" + b + ": " + verdict(right);
    });
    document.getElementById("diff-head-a").textContent = a;
    document.getElementById("diff-head-b").textContent = b;
    document.getElementById("diff-count").textContent = pair.cells.length + " of 64 cells and " +
      (pair.rows.length - pair.cells.length) + " rules or capabilities differ";
    var tbody = document.querySelector("#diff-rows tbody");
    tbody.textContent = "";
    pair.rows.forEach(function (row) {
      var tr = document.createElement("tr");
      tr.className = row[0].indexOf("/") === -1 ? "rule" : "cell-row";
      row.forEach(function (text) {
        var td = document.createElement("td");
        td.textContent = text;
        tr.appendChild(td);
      });
      tbody.appendChild(tr);
    });
  }

  chooseA.addEventListener("change", updateDiff);
  chooseB.addEventListener("change", updateDiff);
  updateDiff();
}());
