/* Run and comparison charts: amounts by scheme or by district as bars, drawn with the locally
   served ECharts. Data comes from a json_script element named by data-source:
   {locale, categories: [...], series: [{name, values: ["123.45", ...]}]}; amounts are exact
   strings, turned into numbers only for drawing. */
(function () {
  "use strict";

  function compact(locale) {
    return new Intl.NumberFormat(locale, { notation: "compact", maximumFractionDigits: 1 });
  }

  function full(locale) {
    return new Intl.NumberFormat(locale, { style: "currency", currency: "CNY", minimumFractionDigits: 2 });
  }

  function draw(element) {
    if (element.dataset.drawn || typeof echarts === "undefined") return;
    var source = document.getElementById(element.dataset.source);
    if (!source) return;
    var data = JSON.parse(source.textContent);
    var axis = compact(data.locale);
    var money = full(data.locale);
    var chart = echarts.init(element, null, { renderer: "canvas" });
    chart.setOption({
      animation: false,
      color: ["#1d5fa8", "#2f9e7a", "#b42318"],
      grid: { left: 16, right: 32, top: data.series.length > 1 ? 40 : 16, bottom: 16, containLabel: true },
      legend: { show: data.series.length > 1, top: 0 },
      tooltip: {
        trigger: "axis",
        axisPointer: { type: "shadow" },
        valueFormatter: function (value) { return value == null ? "—" : money.format(value); },
      },
      // Category names (schemes, districts) can be long: bars run horizontally.
      yAxis: { type: "category", data: data.categories, inverse: true, axisLabel: { width: 220, overflow: "truncate" } },
      xAxis: { type: "value", axisLabel: { formatter: function (value) { return axis.format(value); } } },
      series: data.series.map(function (series) {
        return {
          name: series.name,
          type: "bar",
          barMaxWidth: 28,
          data: series.values.map(function (value) { return value == null ? null : Number(value); }),
        };
      }),
    });
    element.dataset.drawn = "1";
    window.addEventListener("resize", function () { chart.resize(); });
  }

  function drawAll() {
    document.querySelectorAll("[data-chart=bars]").forEach(draw);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
  document.addEventListener("htmx:load", drawAll);
})();
