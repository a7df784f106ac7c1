# fish completion for mqstat(1)

complete -c mqstat -f
complete -c mqstat -s j -d 'JSON lines'
complete -c mqstat -s l -d 'List every message instead of counting'
complete -c mqstat -s o -r -F -d 'Write the output to this file, atomically'
complete -c mqstat -s p -d 'The Prometheus text format'
complete -c mqstat -s s -x -a 'visible delayed waiting inflight expired done dead tmp all' -d 'With -l, list only these states'
complete -c mqstat -a '(__fish_complete_directories (commandline -ct))'
