/* Finance charts. Needs wotu/chart.js (WotuChart) loaded first. Data comes from a json_script
   element named by data-source:
   {locale, categories: [...], series: [{name, values: ["123.45", ...], type?: "bar"|"line",
   stack?: "..."}]}; amounts are exact strings, turned into numbers only for drawing.
   data-orient="vertical" puts categories (months, years) on the x axis; otherwise bars run
   horizontally, for long programme names. */
(function () {
  "use strict";

  WotuChart.register("[data-chart=ledger-bars]", function (element, data, format) {
    var vertical = element.dataset.orient === "vertical";
    var categories = { type: "category", data: data.categories };
    var values = { type: "value", axisLabel: { formatter: function (value) { return format.axis.format(value); } } };
    if (!vertical) {
      categories.inverse = true;
      categories.axisLabel = { width: 220, overflow: "truncate" };
    }
    return {
      animation: false,
      color: ["#1d5fa8", "#2f9e7a", "#d08a1e", "#b42318", "#6b4fa3", "#4a8fb8", "#8a8f98"],
      grid: { left: 16, right: 32, top: data.series.length > 1 ? 40 : 16, bottom: 16, containLabel: true },
      legend: { show: data.series.length > 1, top: 0, type: "scroll" },
      tooltip: WotuChart.tooltip(format, { axisPointer: { type: "shadow" } }),
      xAxis: vertical ? categories : values,
      yAxis: vertical ? values : categories,
      series: data.series.map(function (series) {
        return {
          name: series.name,
          type: series.type || "bar",
          stack: series.stack,
          barMaxWidth: 28,
          symbolSize: 6,
          data: WotuChart.numbers(series.values),
        };
      }),
    };
  });
})();
