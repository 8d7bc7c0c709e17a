// The bash glue for `xe --complete`: bash splits words at `=` and `:`, so xe is given the line
// up to the cursor and answers with whole tokens; the script keeps the part of each answer
// that replaces bash's current word. Answers end with a space when the token is complete.

export function bashCompletionScript(): string {
  return `# bash completion for xe (poolnet). Install: eval "$(xe completion bash)"
_xe_complete() {
  local line="\${COMP_LINE:0:COMP_POINT}"
  local cur="\${COMP_WORDS[COMP_CWORD]}"
  local tok="\${line##*[[:space:]]}"
  local strip=$(( \${#tok} - \${#cur} ))
  (( strip < 0 )) && strip=0
  local -a cands
  mapfile -t cands < <("\${COMP_WORDS[0]}" --complete "$line" 2>/dev/null)
  COMPREPLY=()
  local c
  for c in "\${cands[@]}"; do COMPREPLY+=("\${c:strip}"); done
}
complete -o nospace -F _xe_complete xe`;
}
