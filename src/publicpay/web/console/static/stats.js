// Statistics charts (Apache ECharts, served by the app): the trend, channels and units. Every
// bar and slice opens the payments behind it (the drill-down link computed by the server).
(function () {
  "use strict";
  var holder = document.getElementById("stats-data");
  if (!holder || !window.echarts) return;
  var data = JSON.parse(holder.textContent);
  var palette = ["#b91c1c", "#2563eb", "#059669", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#4b5563"];
  function yuan(fen) {
    return "¥" + (fen / 100).toLocaleString("zh-CN", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  }
  function drillOn(chart, links) {
    chart.on("click", function (p) {
      var link = links[p.dataIndex];
      if (link) window.location.href = link;
    });
  }
  function make(id) {
    var el = document.getElementById(id);
    if (!el) return null;
    var chart = window.echarts.init(el, null, { renderer: "canvas" });
    window.addEventListener("resize", function () { chart.resize(); });
    return chart;
  }
  var trend = make("chart-trend");
  if (trend) {
    trend.setOption({
      color: palette, animation: false,
      grid: { left: 70, right: 50, top: 30, bottom: 40 },
      tooltip: { trigger: "axis", valueFormatter: function (v) { return typeof v === "number" && v > 999 ? yuan(v) : v; } },
      legend: { data: ["金额", "笔数"], top: 0 },
      xAxis: { type: "category", data: data.trend.labels },
      yAxis: [
        { type: "value", name: "金额", axisLabel: { formatter: function (v) { return (v / 100).toLocaleString("zh-CN"); } } },
        { type: "value", name: "笔数", minInterval: 1 }
      ],
      series: [
        { name: "金额", type: "bar", data: data.trend.amounts, cursor: "pointer" },
        { name: "笔数", type: "line", yAxisIndex: 1, data: data.trend.counts, cursor: "pointer" }
      ]
    });
    drillOn(trend, data.trend.links);
  }
  function pie(id, points) {
    var chart = make(id);
    if (!chart) return;
    chart.setOption({
      color: palette, animation: false,
      tooltip: { trigger: "item", formatter: function (p) { return p.name + "<br>" + yuan(p.value) + "（" + p.data.count + " 笔，" + p.percent + "%）"; } },
      legend: { bottom: 0, type: "scroll" },
      series: [{ type: "pie", radius: ["40%", "70%"], center: ["50%", "45%"], cursor: "pointer",
                 label: { formatter: "{b}\n{d}%" },
                 data: points.map(function (p) { return { name: p.name, value: p.value, count: p.count }; }) }]
    });
    drillOn(chart, points.map(function (p) { return p.link; }));
  }
  function bars(id, points) {
    var chart = make(id);
    if (!chart) return;
    var shown = points.slice(0, 10).reverse();
    chart.setOption({
      color: palette, animation: false,
      grid: { left: 10, right: 60, top: 10, bottom: 20, containLabel: true },
      tooltip: { trigger: "item", formatter: function (p) { return p.name + "<br>" + yuan(p.value); } },
      xAxis: { type: "value", axisLabel: { formatter: function (v) { return (v / 100).toLocaleString("zh-CN"); } } },
      yAxis: { type: "category", data: shown.map(function (p) { return p.name; }),
               axisLabel: { width: 140, overflow: "truncate" } },
      series: [{ type: "bar", cursor: "pointer", data: shown.map(function (p) { return p.value; }),
                 label: { show: true, position: "right", formatter: function (p) { return yuan(p.value); } } }]
    });
    drillOn(chart, shown.map(function (p) { return p.link; }));
  }
  pie("chart-channel", data.channel || []);
  bars("chart-unit", data.unit || []);
  window.publicpayCharts = true;
})();
