import { axis, AXIS_DESCRIPTIONS, LANG_VALUES, LOCALES_VALUES, PROBES } from "../tz-common/axes.js";
import { defineTzScenario } from "../tz-common/scenario.js";
import { judgeLocale, LOCALE_CLAIMS } from "./claims.js";

// §3.2–3.3: does a Go program look at locale files at all, and what does a cgo program's
// setlocale(LC_ALL, "") get when LANG names a locale the image does not have.

export default defineTzScenario({
  name: "locale-missing",
  summary: "LANG / LC_ALL × locale files present or not: what pure Go and cgo (glibc, musl) open and what setlocale returns (L1, L2)",
  help: `locale-missing crosses --probe, --lang, --lc-all and --locales (none, C.utf8, i18n). Each row: what
setlocale(LC_ALL, "") returned and its codeset (cgo probes), and every locale, i18n, charmap or
gconv path opened, with errno and who opened it. L1 per variant (does Go itself open any), L2
on the cgo probes (did the missing locale change what the program got).`,
  claims: [LOCALE_CLAIMS.L1, LOCALE_CLAIMS.L2],
  axes: {
    probe: axis(AXIS_DESCRIPTIONS.probe, PROBES, ["go", "cgo-glibc", "cgo-musl"]),
    lang: axis(AXIS_DESCRIPTIONS.lang, Object.keys(LANG_VALUES), ["C.UTF-8", "zh_CN.UTF-8"]),
    lcAll: axis(AXIS_DESCRIPTIONS.lcAll, Object.keys(LANG_VALUES), ["unset"]),
    locales: axis(AXIS_DESCRIPTIONS.locales, LOCALES_VALUES, ["none", "C.utf8"]),
  },
  target: { zones: [], setlocale: true },
  opens: "locale",
  judge: judgeLocale,
});
