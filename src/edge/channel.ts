import { CHANNELS } from '../db/schema/enums';
import type { Channel } from './snapshot';

export type Shape = 'full' | 'compact';

export interface ClientInfo {
  /** The channel the client belongs to; defaults to the storefront's. */
  channel: Channel;
  /** A coarse device family from the user agent (roku, appletv, firetv, tizen, webos, androidtv…). */
  family?: string;
  shape: Shape;
}

const TV_FAMILIES: [RegExp, string][] = [
  [/\bRoku\b/i, 'roku'],
  [/AppleTV|\btvOS\b/i, 'appletv'],
  [/\bAFT[A-Z0-9]+\b|\bFire ?TV\b/i, 'firetv'],
  [/\bTizen\b|\bSMART-TV\b/i, 'tizen'],
  [/\bWeb0S\b|\bwebOS\b|\bNetCast\b/i, 'webos'],
  [/\bAndroid TV\b|\bBRAVIA\b|\bGoogle ?TV\b/i, 'androidtv'],
  [/\bXbox\b/i, 'xbox'],
  [/\bPlayStation\b/i, 'playstation'],
  [/\bCrKey\b/i, 'chromecast'],
];
const MOBILE = /\b(iPhone|iPad|Android|Mobile)\b/i;
const CHANNEL_SET = new Set<string>(CHANNELS);

/**
 * Which client is calling, from `X-Client-Channel` (web | mobile | partner | ott), else the
 * user agent family, else the storefront's own channel. OTT and Smart TV clients get the
 * compact shape; `X-Response-Shape: full | compact` overrides it.
 */
export function detectClient(
  headers: Headers,
  storefrontChannel: Channel,
  /** `X-Client-Channel` when the caller has read it already. */
  channelHeader?: string | null,
): ClientInfo {
  const explicitHeader =
    channelHeader === undefined ? headers.get('x-client-channel') : channelHeader;
  const ua = headers.get('user-agent') ?? '';
  const shapeHeader = headers.get('x-response-shape');
  // The same few clients call again and again: remember the answer per header combination.
  const memoKey = `${storefrontChannel}|${explicitHeader ?? ''}|${shapeHeader ?? ''}|${ua}`;
  const hit = memo.get(memoKey);
  if (hit) return hit;
  const info = classify(explicitHeader, ua, shapeHeader, storefrontChannel);
  if (memoKey.length <= 512) {
    if (memo.size >= 512) memo.clear();
    memo.set(memoKey, info);
  }
  return info;
}

const memo = new Map<string, ClientInfo>();

function classify(
  explicitHeader: string | null,
  ua: string,
  shapeHeader: string | null,
  storefrontChannel: Channel,
): ClientInfo {
  const explicit = explicitHeader?.trim().toLowerCase();
  let family: string | undefined;
  for (const [re, name] of TV_FAMILIES) {
    if (re.test(ua)) {
      family = name;
      break;
    }
  }
  let channel: Channel = storefrontChannel;
  if (explicit && CHANNEL_SET.has(explicit)) channel = explicit as Channel;
  else if (family) channel = 'ott';
  else if (storefrontChannel === 'web' && MOBILE.test(ua)) channel = 'mobile';
  const wanted = shapeHeader?.trim().toLowerCase();
  const shape: Shape =
    wanted === 'full' || wanted === 'compact' ? wanted : channel === 'ott' ? 'compact' : 'full';
  return { channel, family, shape };
}

export function isChannelHeaderValid(value: string | null): boolean {
  return value === null || CHANNEL_SET.has(value.trim().toLowerCase());
}
