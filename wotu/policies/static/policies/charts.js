/* Run and comparison charts: amounts by scheme or by district as bars. Needs wotu/chart.js
   (WotuChart) loaded first. Data comes from a json_script element named by data-source:
   {locale, categories: [...], series: [{name, values: ["123.45", ...]}]}; amounts are exact
   strings, turned into numbers only for drawing. */
(function () {
  "use strict";

  WotuChart.register("[data-chart=bars]", function (element, data, format) {
    return {
      animation: false,
      color: ["#1d5fa8", "#2f9e7a", "#b42318"],
      grid: { left: 16, right: 32, top: data.series.length > 1 ? 40 : 16, bottom: 16, containLabel: true },
      legend: { show: data.series.length > 1, top: 0 },
      tooltip: WotuChart.tooltip(format, { axisPointer: { type: "shadow" } }),
      // Category names (schemes, districts) can be long: bars run horizontally.
      yAxis: { type: "category", data: data.categories, inverse: true, axisLabel: { width: 220, overflow: "truncate" } },
      xAxis: { type: "value", axisLabel: { formatter: function (value) { return format.axis.format(value); } } },
      series: data.series.map(function (series) {
        return {
          name: series.name,
          type: "bar",
          barMaxWidth: 28,
          data: WotuChart.numbers(series.values),
        };
      }),
    };
  });
})();
