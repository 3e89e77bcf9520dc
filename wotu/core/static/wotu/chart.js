/* Facts chart: revenue and R&D expense by year, drawn with the locally served ECharts.
   Data comes from a json_script element named by data-source; amounts are exact strings. */
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
    var colours = ["#1d5fa8", "#2f9e7a"];
    var chart = echarts.init(element, null, { renderer: "canvas" });
    chart.setOption({
      animation: false,
      color: colours,
      grid: { left: 64, right: 64, top: 48, bottom: 32 },
      legend: { top: 0 },
      tooltip: {
        trigger: "axis",
        valueFormatter: function (value) { return value == null ? "—" : money.format(value); },
      },
      xAxis: { type: "category", data: data.years },
      // Revenue and R&D differ by an order of magnitude: each gets its own axis.
      yAxis: data.series.map(function (series, index) {
        return {
          type: "value",
          position: index === 0 ? "left" : "right",
          splitLine: { show: index === 0 },
          axisLine: { show: true, lineStyle: { color: colours[index] } },
          axisLabel: { formatter: function (value) { return axis.format(value); } },
        };
      }),
      series: data.series.map(function (series, index) {
        return {
          name: series.name,
          type: index === 0 ? "bar" : "line",
          yAxisIndex: index,
          barMaxWidth: 36,
          symbolSize: 8,
          data: series.values.map(function (value) { return value == null ? null : Number(value); }),
        };
      }),
    });
    element.dataset.drawn = "1";
    window.addEventListener("resize", function () { chart.resize(); });
  }

  function drawAll() {
    document.querySelectorAll("[data-chart=facts]").forEach(draw);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
  document.addEventListener("htmx:load", drawAll);
})();
