"""Platform adapters: each translates its platform events into one core call and renders the reply."""
