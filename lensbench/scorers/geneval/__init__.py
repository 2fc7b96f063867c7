"""GenEval scoring (djghosh13/geneval @ af4902f re-implemented): pure decision logic in `decision`, summaries in
`summary`, model backends in `detector` / `color`, tiny local models in `tiny`, the Scorer in `scorer`.
Nothing heavy is imported here."""
