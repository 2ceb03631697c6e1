/** A rate for a table or a chart, whose unit is said elsewhere: '812', '361.2 K', '1.24 M'. */
export function formatRate(rate: number): string {
  if (rate < 10) return rate.toFixed(2);
  if (rate < 1e4) return rate.toFixed(0);
  return rate >= 1e6 ? `${(rate / 1e6).toFixed(2)} M` : `${(rate / 1e3).toFixed(1)} K`;
}
