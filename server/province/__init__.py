"""上传省厅: the provincial platform's contract (signing, codes, payloads), its HTTP adapter and a stand-in.

docs/province-upload.md describes the contract as we read it, the stand-in's rules and the upload states.
"""
