"""The Faust agents: thin loops that move records between topics and call the rest."""
