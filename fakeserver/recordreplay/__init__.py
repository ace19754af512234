"""Record and replay: the recording proxy, the replay server and SMTP cassettes."""
