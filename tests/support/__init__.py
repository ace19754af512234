"""Helpers the tests share: raw SMTP sockets, scripted peers, a served fake, stock aiosmtpd."""
