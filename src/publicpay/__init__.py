"""PublicPay: unified public payment platform for government non-tax revenue."""
