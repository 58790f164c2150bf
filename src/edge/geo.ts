import { ApiError } from '../errors';

/**
 * Country → continent (Cloudflare's codes), used only when the development stand-in header
 * `CF-IPCountry` supplies a country without `request.cf` (Cloudflare sets `cf.continent` itself).
 */
const CONTINENT_OF: Record<string, string> = {};
const BY_CONTINENT: Record<string, string> = {
  EU: 'AD AL AT AX BA BE BG BY CH CY CZ DE DK EE ES FI FO FR GB GG GI GR HR HU IE IM IS IT JE LI LT LU LV MC MD ME MK MT NL NO PL PT RO RS RU SE SI SJ SK SM UA VA XK',
  NA: 'AG AI AW BB BL BM BQ BS BZ CA CR CU CW DM DO GD GL GP GT HN HT JM KN KY LC MF MQ MS MX NI PA PM PR SV SX TC TT US VC VG VI',
  SA: 'AR BO BR CL CO EC FK GF GY PE PY SR UY VE',
  AS: 'AE AF AM AZ BD BH BN BT CN GE HK ID IL IN IQ IR JO JP KG KH KP KR KW KZ LA LB LK MM MN MO MV MY NP OM PH PK PS QA SA SG SY TH TJ TL TM TR TW UZ VN YE',
  OC: 'AS AU CK FJ FM GU KI MH MP NC NF NR NU NZ PF PG PN PW SB TK TO TV UM VU WF WS',
  AF: 'AO BF BI BJ BW CD CF CG CI CM CV DJ DZ EG EH ER ET GA GH GM GN GQ GW KE KM LR LS LY MA MG ML MR MU MW MZ NA NE NG RE RW SC SD SH SL SN SO SS ST SZ TD TG TN TZ UG YT ZA ZM ZW',
  AN: 'AQ BV GS HM TF',
};
for (const [continent, list] of Object.entries(BY_CONTINENT)) {
  for (const cc of list.split(' ')) CONTINENT_OF[cc] = continent;
}

export const CONTINENTS = new Set(Object.keys(BY_CONTINENT));
const COUNTRY_RE = /^[A-Z]{2}$/;
/** What Cloudflare sends for the Tor network, as a country and as a continent. */
const TOR = 'T1';
/** The geography of a request without any (shared: a Geo is never mutated). */
const NO_GEO: Geo = Object.freeze({});

export interface Geo {
  country?: string;
  continent?: string;
}

/**
 * Geography of a request: `request.cf` on Cloudflare; in local development (when
 * `devHeaders` is on) the `CF-IPCountry` / `CF-IPContinent` headers stand in for it.
 * `XX` and `T1` (unknown / Tor) count as no country, and a `T1` continent as none: a Tor
 * request matches no country or continent rule and resolves to the tenant's default.
 */
export function requestGeo(
  request: Request,
  devHeaders: boolean,
  headers: Headers = request.headers,
): Geo {
  const cf = (request as { cf?: { country?: unknown; continent?: unknown } }).cf;
  let country = typeof cf?.country === 'string' ? cf.country.toUpperCase() : undefined;
  let continent = typeof cf?.continent === 'string' ? cf.continent.toUpperCase() : undefined;
  if (devHeaders) {
    const hc = headers.get('cf-ipcountry');
    if (hc !== null) {
      const v = hc.trim().toUpperCase();
      if (!COUNTRY_RE.test(v) && v !== TOR) {
        throw new ApiError(
          'malformed_header',
          'CF-IPCountry must be an ISO 3166-1 alpha-2 country code such as "DE" (or XX, T1).',
          { errors: [{ path: 'headers.cf-ipcountry', message: 'expected two letters' }] },
        );
      }
      country = v;
      continent = CONTINENT_OF[v];
    }
    const hk = headers.get('cf-ipcontinent');
    if (hk !== null) {
      const v = hk.trim().toUpperCase();
      if (!CONTINENTS.has(v) && v !== TOR) {
        throw new ApiError(
          'malformed_header',
          `CF-IPContinent must be one of ${[...CONTINENTS].join(', ')} (or T1).`,
          { errors: [{ path: 'headers.cf-ipcontinent', message: 'unknown continent code' }] },
        );
      }
      continent = v;
    }
  }
  if (country === 'XX' || country === TOR || (country && !COUNTRY_RE.test(country)))
    country = undefined;
  if (continent && !CONTINENTS.has(continent)) continent = undefined;
  if (country && !continent) continent = CONTINENT_OF[country];
  return country === undefined && continent === undefined ? NO_GEO : { country, continent };
}

export function continentOf(country: string): string | undefined {
  return CONTINENT_OF[country];
}
