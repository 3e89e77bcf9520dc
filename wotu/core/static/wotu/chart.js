/* Shared chart setup, drawn with the locally served ECharts (never a CDN), and the facts chart.
   Every chart reads its data from a json_script element named by its data-source attribute;
   amounts are exact strings, turned into numbers only for drawing. App scripts load this file
   first and call WotuChart.register(selector, build): build(element, data, format) returns the
   ECharts option for one element, format.axis and format.money being Intl number formats for
   data.locale. An element is drawn once (data-drawn), on page load and after every htmx swap. */
(function () {
  "use strict";

  function compact(locale) {
    return new Intl.NumberFormat(locale, { notation: "compact", maximumFractionDigits: 1 });
  }

  function full(locale) {
    return new Intl.NumberFormat(locale, { style: "currency", currency: "CNY", minimumFractionDigits: 2 });
  }

  /* Exact amount strings as numbers for drawing; a missing amount stays a gap. */
  function numbers(values) {
    return values.map(function (value) { return value == null ? null : Number(value); });
  }

  /* Tooltip settings shared by every chart: one tooltip per category, amounts in full. */
  function tooltip(format, extra) {
    var settings = {
      trigger: "axis",
      valueFormatter: function (value) { return value == null ? "—" : format.money.format(value); },
    };
    Object.keys(extra || {}).forEach(function (key) { settings[key] = extra[key]; });
    return settings;
  }

  function draw(element, build) {
    if (element.dataset.drawn || typeof echarts === "undefined") return;
    var source = document.getElementById(element.dataset.source);
    if (!source) return;
    var data = JSON.parse(source.textContent);
    var format = { axis: compact(data.locale), money: full(data.locale) };
    var option = build(element, data, format);
    var chart = echarts.init(element, null, { renderer: "canvas" });
    chart.setOption(option);
    element.dataset.drawn = "1";
    window.addEventListener("resize", function () { chart.resize(); });
  }

  function register(selector, build) {
    function drawAll() {
      document.querySelectorAll(selector).forEach(function (element) { draw(element, build); });
    }

    if (document.readyState === "loading") {
      document.addEventListener("DOMContentLoaded", drawAll);
    } else {
      drawAll();
    }
    document.addEventListener("htmx:load", drawAll);
  }

  window.WotuChart = { register: register, numbers: numbers, tooltip: tooltip };

  /* Facts chart: revenue and R&D expense by year. */
  register("[data-chart=facts]", function (element, data, format) {
    var colours = ["#1d5fa8", "#2f9e7a"];
    return {
      animation: false,
      color: colours,
      grid: { left: 64, right: 64, top: 48, bottom: 32 },
      legend: { top: 0 },
      tooltip: tooltip(format),
      xAxis: { type: "category", data: data.years },
      // Revenue and R&D differ by an order of magnitude: each gets its own axis.
      yAxis: data.series.map(function (series, index) {
        return {
          type: "value",
          position: index === 0 ? "left" : "right",
          splitLine: { show: index === 0 },
          axisLine: { show: true, lineStyle: { color: colours[index] } },
          axisLabel: { formatter: function (value) { return format.axis.format(value); } },
        };
      }),
      series: data.series.map(function (series, index) {
        return {
          name: series.name,
          type: index === 0 ? "bar" : "line",
          yAxisIndex: index,
          barMaxWidth: 36,
          symbolSize: 8,
          data: numbers(series.values),
        };
      }),
    };
  });
})();
