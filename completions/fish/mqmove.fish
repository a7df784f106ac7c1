# fish completion for mqmove(1)

complete -c mqmove -f
complete -c mqmove -s n -d 'Dry run: print what would be moved'
complete -c mqmove -s r -x -d 'Only the dead letters of this reason'
complete -c mqmove -s s -x -a 'visible delayed waiting inflight expired done dead all' -d 'The states to move'
complete -c mqmove -s v -d 'A line per message'
complete -c mqmove -a '(__fish_complete_directories (commandline -ct))'
