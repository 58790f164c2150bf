import type { PaymentMethodContract, VaultedPaymentMethod } from '../src/contracts/payment-method';
import { StatefulDurableObject } from './base';

/**
 * One tokenized payment method (named by its id): the token's brand, last 4, expiry,
 * fingerprint and owner — never the number or the CVC, which are not kept anywhere. Written at
 * tokenization beside the `payment_methods` row, read by checkouts and payment-method updates,
 * so they need no Postgres.
 */
export class PaymentMethodDurableObject
  extends StatefulDurableObject
  implements PaymentMethodContract
{
  private entry: VaultedPaymentMethod | null | undefined;

  async save(entry: VaultedPaymentMethod): Promise<VaultedPaymentMethod> {
    const current = await this.get();
    if (current) return current;
    await this.ctx.storage.put('method', entry);
    this.entry = entry;
    return entry;
  }

  async get(): Promise<VaultedPaymentMethod | null> {
    if (this.entry === undefined) {
      this.entry = (await this.ctx.storage.get<VaultedPaymentMethod>('method')) ?? null;
    }
    return this.entry;
  }
}
