/* Finance charts, drawn with the locally served ECharts (never a CDN). Data comes from a
   json_script element named by data-source:
   {locale, categories: [...], series: [{name, values: ["123.45", ...], type?: "bar"|"line",
   stack?: "..."}]}; amounts are exact strings, turned into numbers only for drawing.
   data-orient="vertical" puts categories (months, years) on the x axis; otherwise bars run
   horizontally, for long programme names. */
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
    var vertical = element.dataset.orient === "vertical";
    var categories = { type: "category", data: data.categories };
    var values = { type: "value", axisLabel: { formatter: function (value) { return axis.format(value); } } };
    if (!vertical) {
      categories.inverse = true;
      categories.axisLabel = { width: 220, overflow: "truncate" };
    }
    var chart = echarts.init(element, null, { renderer: "canvas" });
    chart.setOption({
      animation: false,
      color: ["#1d5fa8", "#2f9e7a", "#d08a1e", "#b42318", "#6b4fa3", "#4a8fb8", "#8a8f98"],
      grid: { left: 16, right: 32, top: data.series.length > 1 ? 40 : 16, bottom: 16, containLabel: true },
      legend: { show: data.series.length > 1, top: 0, type: "scroll" },
      tooltip: {
        trigger: "axis",
        axisPointer: { type: "shadow" },
        valueFormatter: function (value) { return value == null ? "—" : money.format(value); },
      },
      xAxis: vertical ? categories : values,
      yAxis: vertical ? values : categories,
      series: data.series.map(function (series) {
        return {
          name: series.name,
          type: series.type || "bar",
          stack: series.stack,
          barMaxWidth: 28,
          symbolSize: 6,
          data: series.values.map(function (value) { return value == null ? null : Number(value); }),
        };
      }),
    });
    element.dataset.drawn = "1";
    window.addEventListener("resize", function () { chart.resize(); });
  }

  function drawAll() {
    document.querySelectorAll("[data-chart=ledger-bars]").forEach(draw);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
  document.addEventListener("htmx:load", drawAll);
})();
