import { type ParseArgsConfig, parseArgs } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;

const HELP_OPTION = { help: { type: 'boolean', short: 'h', default: false } } as const;

/**
 * A bench script's command-line options (strict, no positionals), with `-h, --help` added:
 * prints `help` and exits 0 for `--help`, exits 2 with the error and `help` for a bad option.
 */
export function parseCli<const O extends Options>(options: O, help: string) {
  const config = { options: { ...options, ...HELP_OPTION }, strict: true } as const;
  let values: ReturnType<typeof parseArgs<typeof config>>['values'];
  try {
    values = parseArgs(config).values;
  } catch (err) {
    console.error(`${err instanceof Error ? err.message : String(err)}\n\n${help}`);
    process.exit(2);
  }
  if ((values as { help?: boolean }).help) {
    console.log(help);
    process.exit(0);
  }
  return values;
}
