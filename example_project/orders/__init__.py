"""The example shop's orders app: the order table, dispatch to znet, refunds."""
