"""PublicPay."""
