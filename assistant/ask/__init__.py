"""The ask path, one stage per module (the question is analysed once):

reading (Reading: a Spanish question in Catalan) -> analysis (QueryAnalysis)
-> retrieval (Candidates) -> eligibility -> evidence (Evidence)
-> decision (decide(): answer or refusal, with its reason) -> the composer (wording).
`AskPipeline` (pipeline.py) runs them in order; `AssistantService` calls it.
"""
